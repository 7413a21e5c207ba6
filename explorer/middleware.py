"""Rejects requests whose path or query carries a NUL character: no database stores one (PostgreSQL refuses them),
so such a request can only be junk; it gets a clear 400 instead of a server error. Also: the bound on the requests a
web process serves at once, which bounds its database connections."""

import collections
import threading

from django.db import connections
from django.http import JsonResponse


class RejectNulCharactersMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.path or any("\x00" in key or any("\x00" in value for value in values)
                                         for key, values in request.GET.lists()):
            return JsonResponse({"detail": "NUL characters are not allowed in the path or the query"}, status=400)
        return self.get_response(request)


class FifoSlots:
    """A counting semaphore that hands a freed slot to the longest waiter. threading.Semaphore lets a newcomer take
    a slot before the waiter it woke, which then queues again at the back: under steady load some requests waited
    far longer than the rest (past a client's 10 s timeout while the median was 5 s)."""

    def __init__(self, count: int):
        self._free = count
        self._lock = threading.Lock()
        self._waiting: collections.deque[threading.Event] = collections.deque()

    def __enter__(self) -> None:
        with self._lock:
            if self._free and not self._waiting:
                self._free -= 1
                return
            turn = threading.Event()
            self._waiting.append(turn)
        turn.wait()  # the slot is ours once set: release() handed it over without freeing it

    def __exit__(self, *_exc) -> None:
        with self._lock:
            if self._waiting:
                self._waiting.popleft().set()
            else:
                self._free += 1


class RequestSlotsMiddleware:
    """Lets at most WEB_CONCURRENT_REQUESTS requests of this web process past it at once (the rest wait their turn,
    first come first served), and closes the request's database connections before it gives its slot up.

    Under ASGI every request runs its synchronous middleware and view on a thread of its own (asgiref gives each
    request's context its own thread), and Django opens one database connection per thread: without a bound, 200
    clients waiting on pages hold 200 connections and PostgreSQL refuses the rest ("too many clients"). Requests that
    wait here hold a thread but no connection; a request past it closes its connections in this thread before the next
    one starts (the thread ends with the request, so a connection kept for CONN_MAX_AGE would never be reused anyway).
    So a web process holds at most WEB_CONCURRENT_REQUESTS connections, also when clients disconnect mid-request: the
    slot is held by the thread doing the work, not by the coroutine waiting for it, which the disconnect cancels."""

    def __init__(self, get_response):
        from django.conf import settings

        self.get_response = get_response
        self.slots = FifoSlots(settings.WEB_CONCURRENT_REQUESTS)

    def __call__(self, request):
        with self.slots:
            try:
                return self.get_response(request)
            finally:
                for connection in connections.all(initialized_only=True):
                    if not connection.in_atomic_block:  # a test's transaction around the request stays open
                        connection.close()
