"""Background threads for the tests of code that runs while an
application's threads keep working (test_canary, test_concurrency)."""

import threading


class Workers:
    """``n`` daemon threads running ``self._work(k)`` (k = 0..n-1) from
    entering the context until leaving it; a worker loops until
    ``self._stop`` is set.  What a worker raises lands in ``self.errors``
    for the test to report.  Leaving waits up to ``join_timeout`` seconds
    per thread."""

    join_timeout = 10

    def __init__(self, n, name='worker'):
        self.errors = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._guarded, args=(k,),
                                          name='%s-%d' % (name, k),
                                          daemon=True)
                         for k in range(n)]

    def _guarded(self, k):
        try:
            self._work(k)
        except BaseException as e:  # reported by the test
            self.errors.append(e)

    def _work(self, k):
        raise NotImplementedError

    def __enter__(self):
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc_info):
        self._stop.set()
        for t in self._threads:
            t.join(self.join_timeout)
