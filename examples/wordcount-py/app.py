"""A Python function on the native driver: counts the words of the request body.

Deployed by `npm start` from examples/procyon.json:
  curl -X POST --data 'to be or not to be' http://127.0.0.1:8080/wordcount
"""
import base64
import collections
import json


def handler(event, context):
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        body = base64.b64decode(body).decode("utf-8", "replace")
    words = collections.Counter(body.lower().split())
    print(f"counted {sum(words.values())} words for {context.aws_request_id}")
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/json"},
        "body": json.dumps({"words": sum(words.values()), "top": words.most_common(3)}),
    }
