#!/usr/bin/env python3
"""An integration's round trip through MY Wallet Support's REST API, standard library only.

    MYWALLET_API_URL=http://127.0.0.1:8000 MYWALLET_API_KEY=mws_... \\
        python docs/api_client_example.py --phone "138 0013 8001"

The key needs the scopes ``customers:read`` and ``tickets:write`` (make one in the admin's
API keys, or with ``manage.py api_key create``). The script looks the caller up by phone
number (any format), opens a ticket for them with an Idempotency-Key (run it twice with
the same --request-id and it opens one ticket), reads the ticket and its ETag, answers the
customer with If-Match (refused with 412 if someone changed the ticket in between), and
lists the open tickets. Errors come back as {"error": {"code", "message", "fields"?}}.
"""

import argparse
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
import uuid


class ApiError(Exception):
    def __init__(self, status: int, error: dict):
        super().__init__(f"{status} {error.get('code')}: {error.get('message')}")
        self.status, self.error = status, error


class Client:
    """The API's conventions in one place: the key as a bearer, JSON both ways, the one
    error shape raised as ApiError."""

    def __init__(self, base_url: str, key: str):
        if urllib.parse.urlsplit(base_url).scheme not in ("http", "https"):
            raise ValueError("MYWALLET_API_URL must be an http(s) URL.")
        self.base_url = base_url.rstrip("/")
        self.key = key

    def call(self, method: str, path: str, body=None, headers=None, query=None):
        """(decoded JSON answer, response headers)."""
        url = self.base_url + path
        if query:
            url += "?" + urllib.parse.urlencode(query)
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(url, data=data, method=method)  # noqa: S310 (http(s) only)
        request.add_header("Authorization", f"Bearer {self.key}")
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (as above)
                return json.load(response), response.headers
        except urllib.error.HTTPError as failed:
            try:
                error = json.load(failed).get("error", {})
            except ValueError:
                error = {"code": "http_error", "message": failed.reason}
            raise ApiError(failed.code, error) from None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--phone", default="+86 138 0013 8001", help="the caller's number")
    parser.add_argument("--subject", default="Top-up not received")
    parser.add_argument("--message", default="I topped up 200 CNY an hour ago; nothing yet.")
    parser.add_argument("--reply", default="Thank you, we are checking the top-up now.")
    parser.add_argument(
        "--request-id", default=None, help="Idempotency-Key for the create (default: new)"
    )
    args = parser.parse_args()
    url, key = os.environ.get("MYWALLET_API_URL"), os.environ.get("MYWALLET_API_KEY")
    if not url or not key:
        print("Set MYWALLET_API_URL and MYWALLET_API_KEY.", file=sys.stderr)
        return 2
    api = Client(url, key)
    try:
        found, _headers = api.call("GET", "/api/customers/lookup/", query={"phone": args.phone})
        if not found:
            print(f"No customer is known by {args.phone}.")
            return 1
        customer = found[0]
        print(f"customer: {customer['id']} {customer['name']}")

        ticket, _headers = api.call(
            "POST",
            "/api/tickets/",
            {"customer": customer["id"], "subject": args.subject, "message": args.message},
            headers={"Idempotency-Key": args.request_id or str(uuid.uuid4())},
        )
        print(f"opened: {ticket['reference']} (id {ticket['id']}, {ticket['status']})")

        ticket, headers = api.call("GET", f"/api/tickets/{ticket['id']}/")
        reply, _headers = api.call(
            "POST",
            f"/api/tickets/{ticket['id']}/reply/",
            {"body": args.reply},
            headers={"If-Match": headers["ETag"]},
        )
        print(f"replied: message {reply['id']}")

        page, _headers = api.call("GET", "/api/tickets/", query={"status": "open"})
        print(f"open tickets: {page['count']}")
        for row in page["results"]:
            print(f"  {row['reference']}  {row['subject']}")
    except ApiError as failed:
        print(f"refused: {failed}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
