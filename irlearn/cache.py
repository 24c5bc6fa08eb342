"""Django's Redis cache backend, keeping one redis-py client per connection pool.

Django's RedisCacheClient builds a new ``redis.Redis`` for every cache operation, and that
constructor fills a table of some 170 response callbacks: about 0.15 ms each time, more than
the round trip to Redis on loopback. A request that reads its session, the content version and
a cached page or course structure pays it three or four times. The client holds nothing but its
connection pool (which Django already keeps, one per server) and is safe to reuse.

settings.py puts this backend in place of Django's when CACHE_URL names Redis.
"""

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient as DjangoRedisCacheClient


class RedisCacheClient(DjangoRedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(pool)
        if client is None:
            client = self._clients[pool] = self._client(connection_pool=pool)
        return client


class RedisCache(DjangoRedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = RedisCacheClient
