"""``source.pipe(destination)``: listeners that move data with back-pressure.

When ``destination.write()`` returns ``False`` the source is paused, and resumed
on the destination's ``'drain'``; the source's ``'end'`` ends the destination
unless ``end=False``.  A pipe is a pair of ordinary listeners, so ``unpipe()``
is just removing them.
"""

__all__ = ["Pipe"]


class Pipe:
    """One ``source.pipe(destination)``: listeners that move data with back-pressure."""

    __slots__ = ("source", "destination", "end", "waiting", "on_data", "on_drain", "on_end")

    def __init__(self, source, destination, end):
        self.source = source
        self.destination = destination
        self.end = end
        self.waiting = False  # we paused the source until the destination drains
        # Bound once: the listeners are registered and removed by identity, and
        # on_data runs for every chunk.
        self.on_data = self._on_data
        self.on_drain = self._on_drain
        self.on_end = self._on_end

    def attach(self):
        self.source.on("data", self.on_data)
        self.source.on("end", self.on_end)
        self.destination.on("drain", self.on_drain)

    def detach(self):
        self.source.remove_listener("data", self.on_data)
        self.source.remove_listener("end", self.on_end)
        self.destination.remove_listener("drain", self.on_drain)

    def _on_data(self, chunk):
        if self.destination.write(chunk) is False:
            self.waiting = True
            self.source.pause()

    def _on_drain(self):
        if self.waiting:
            self.waiting = False
            self.source.resume()

    def _on_end(self):
        if self.end:
            self.destination.end()
