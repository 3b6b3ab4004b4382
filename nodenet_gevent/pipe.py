"""``source.pipe(destination)``: listeners that move data with back-pressure.

When ``destination.write()`` returns ``False`` the source is paused, and resumed
on the destination's ``'drain'``; the source's ``'end'`` ends the destination
unless ``end=False``.  A pipe is a pair of ordinary listeners, so ``unpipe()``
is just removing them.
"""

__all__ = ["Pipe"]


class Pipe:
    """One ``source.pipe(destination)``: listeners that move data with back-pressure."""

    __slots__ = ("source", "destination", "end")

    def __init__(self, source, destination, end):
        self.source = source
        self.destination = destination
        self.end = end

    def attach(self):
        self.source.on("data", self.on_data)
        self.source.on("end", self.on_end)

    def detach(self):
        self.source.remove_listener("data", self.on_data)
        self.source.remove_listener("end", self.on_end)
        self.destination.remove_listener("drain", self.on_drain)

    def on_data(self, chunk):
        if self.destination.write(chunk) is False:
            self.source.pause()
            if self.on_drain not in self.destination.listeners("drain"):
                self.destination.once("drain", self.on_drain)

    def on_drain(self):
        self.source.resume()

    def on_end(self):
        if self.end:
            self.destination.end()
