"""A timeside-gql client with `gql`: items over HTTP with an API token, the items nearest to one,
then a task run and followed over a WebSocket (graphql-transport-ws) until it ends.

    python client.py --url http://127.0.0.1:8000 --token "$TOKEN" --search sine
    python client.py --url http://127.0.0.1:8000 --token "$TOKEN" --similar <item id>
    python client.py --url http://127.0.0.1:8000 --token "$TOKEN" --run-task <task id>

Needs `pip install "gql[httpx,websockets]"`.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from gql import Client, gql
from gql.transport.httpx import HTTPXAsyncTransport
from gql.transport.websockets import WebsocketsTransport

ITEMS = """
query Items($search: String) {
  items(first: 20, filter: {search: $search}) {
    totalCount
    nodes { id title artist audioDuration }
  }
}"""

SIMILAR = """
query Similar($id: UUID!) {
  item(id: $id) {
    title
    similar(first: 10, by: ALL) { edges { distance node { id title } } }
  }
}"""

RUN = """
mutation Run($id: UUID!) {
  runTask(id: $id) {
    __typename
    ... on Task { status }
    ... on Error { message }
  }
}"""

FOLLOW = """
subscription Follow($id: UUID!) {
  taskUpdates(taskId: $id) {
    kind
    task { status itemsTotal itemsDone itemsFailed }
    job { progress item { title } }
  }
}"""


async def query(url: str, token: str, document: str, **variables: Any) -> dict[str, Any]:
    """One operation over HTTP, the token in the Authorization header."""
    transport = HTTPXAsyncTransport(
        url=f"{url}/graphql", headers={"Authorization": f"Bearer {token}"}
    )
    async with Client(transport=transport) as session:
        request = gql(document)
        request.variable_values = variables
        return await session.execute(request)


async def similar(url: str, token: str, item_id: str) -> None:
    """Print the items nearest to this one, with their descriptor distance."""
    item = (await query(url, token, SIMILAR, id=item_id))["item"]
    if item is None:
        print("no such item")
    elif item["similar"] is None:
        print(f"{item['title']}: no descriptors yet (run the similarity_descriptors preset)")
    else:
        print(f"nearest to {item['title']}")
        for edge in item["similar"]["edges"]:
            print(f"  {edge['distance']:.3f}  {edge['node']['id']}  {edge['node']['title']}")


async def follow(url: str, token: str, task_id: str) -> str:
    """Print the task's updates until the server ends the subscription; its final status."""
    transport = WebsocketsTransport(
        url=url.replace("http", "ws", 1) + "/graphql",
        init_payload={"authorization": f"Bearer {token}"},  # the token travels in connection_init
        subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
    )
    status = "UNKNOWN"
    async with Client(transport=transport) as session:
        request = gql(FOLLOW)
        request.variable_values = {"id": task_id}
        async for data in session.subscribe(request):
            update = data["taskUpdates"]
            task, job = update["task"], update["job"]
            status = task["status"]
            where = f" {job['item']['title']} {job['progress']:.0%}" if job else ""
            print(f"{update['kind']:8} {status:9} {task['itemsDone']}/{task['itemsTotal']}{where}")
    return status


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--token", required=True, help="an API token (timeside-gql token issue)")
    parser.add_argument("--search", help="text in title, artist or album")
    parser.add_argument("--similar", metavar="ID", help="list the items nearest to this one")
    parser.add_argument("--run-task", metavar="ID", help="run this task and follow it")
    args = parser.parse_args()

    items = (await query(args.url, args.token, ITEMS, search=args.search))["items"]
    print(f"{items['totalCount']} items")
    for item in items["nodes"]:
        print(f"  {item['id']}  {item['title']}  {item['audioDuration'] or 0:.1f} s")
    if args.similar:
        await similar(args.url, args.token, args.similar)
    if not args.run_task:
        return 0
    run = (await query(args.url, args.token, RUN, id=args.run_task))["runTask"]
    if run["__typename"] != "Task":
        print(f"runTask refused: {run['message']}")
        return 1
    status = await follow(args.url, args.token, args.run_task)
    print(f"task {status.lower()}")
    return 0 if status == "DONE" else 1


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
