"""Long work that reports as it goes: the optimisation runs in a thread and hands its intermediate results to
whoever iterates (a web page streaming thumbnails), and stops when that reader goes away."""
import queue
import threading
from typing import Callable, Generator, TypeVar

Result = TypeVar("Result")
_END = object()


def streamed(work: Callable[[Callable[[object], None], Callable[[], bool]], Result]
             ) -> Generator[object, None, Result]:
    """Run `work(emit, stopped)` in a thread; yield what it emits and return what it returns.

    A reader that falls behind gets the newest update (older ones are dropped: a stale thumbnail is worth
    nothing), and always the work's last one, even when the work ended before the reader came back. Closing
    the generator (the page cancelled, the visitor left) makes `stopped()` true and waits for the work to end,
    so no computation outlives its reader. The work's exception is raised here.
    """
    updates: queue.Queue = queue.Queue()
    closed = threading.Event()
    outcome: dict = {}

    def run():
        try:
            outcome["value"] = work(updates.put, closed.is_set)
        except BaseException as e:  # handed to the reader, which raises it
            outcome["error"] = e
        finally:
            updates.put(_END)

    thread = threading.Thread(target=run, name="latentcat-stream", daemon=True)
    thread.start()
    try:
        while True:
            waiting = [updates.get()]
            while not updates.empty():
                waiting.append(updates.get())
            newest = [item for item in waiting if item is not _END]
            if newest:
                yield newest[-1]
            if waiting[-1] is _END:
                break
    finally:
        closed.set()
        thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")
