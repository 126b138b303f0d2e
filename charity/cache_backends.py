"""Django's Redis cache, with one Redis client per connection pool instead of one per call.

Django's `RedisCacheClient.get_client` builds a new `redis.Redis` for every cache call, and building one
registers some 300 response callbacks: 0.16 ms, more than the round trip to Redis itself (0.09 ms on our
2-core machines). The API makes two to four cache calls a request (the verified key, the throttle, a list's
count), so that was a tenth of a request's time (docs/performance.md, "API"). A `redis.Redis` is safe to
share: it takes a connection from its pool for each command, and the pool starts afresh in a forked process.

`incr` is one round trip, not two: Django's sends EXISTS, then INCRBY; a small script does both in Redis, at
once (the throttle raises a counter on every API request).
"""

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient as DjangoRedisCacheClient

# INCRBY only a key that exists (else nil): Django's `incr` contract, a ValueError for a missing key.
_INCR_EXISTING = (
    "if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('INCRBY', KEYS[1], ARGV[1]) end"
)


class RedisCacheClient(DjangoRedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}
        self._incr_scripts = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client

    def incr(self, key, delta):
        client = self.get_client(key, write=True)
        script = self._incr_scripts.get(id(client))
        if script is None:
            script = self._incr_scripts[id(client)] = client.register_script(_INCR_EXISTING)
        value = script(keys=[key], args=[delta])
        if value is None:
            raise ValueError(f"Key '{key}' not found.")
        return value


class RedisCache(DjangoRedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = RedisCacheClient
