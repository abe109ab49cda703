"""A TCP proxy that delays every chunk by `--delay-ms` in each direction (1 ms each way: the 2 ms round trip of a
database in the next rack). Order within a connection is kept; chunks are not held back by one another's delay.
It runs in a process of its own so the load generator's work never delays the bot's database traffic.

`python -m bench.proxy --port N --to 127.0.0.1:5432 --delay-ms 1`
"""

from __future__ import annotations

import argparse
import asyncio


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

    async def send() -> None:
        while True:
            due, chunk = await queue.get()
            if not chunk:
                break
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            writer.write(chunk)
            await writer.drain()

    sender = asyncio.create_task(send())
    try:
        while chunk := await reader.read(65536):
            queue.put_nowait((loop.time() + delay, chunk))
    except ConnectionError:
        pass
    finally:
        queue.put_nowait((0.0, b""))
        try:
            await sender
            writer.close()
        except ConnectionError:
            pass


async def serve(port: int, host: str, target_port: int, delay: float) -> None:
    async def connection(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            server_reader, server_writer = await asyncio.open_connection(host, target_port)
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(_pump(client_reader, server_writer, delay), _pump(server_reader, client_writer, delay))

    server = await asyncio.start_server(connection, "127.0.0.1", port)
    print(f"proxy 127.0.0.1:{port} -> {host}:{target_port}, +{delay * 1000:g} ms each way", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--to", required=True, help="host:port")
    parser.add_argument("--delay-ms", type=float, default=1.0)
    options = parser.parse_args()
    target_host, target_port = options.to.rsplit(":", 1)
    asyncio.run(serve(options.port, target_host, int(target_port), options.delay_ms / 1000))
