"""Pure intake decisions: signature, rejections and the ordering key."""

from __future__ import annotations

import json

from helpers import WEBHOOK_SECRET, official_payload, signed_headers

from bot.app.intake import Delivery, Rejected, body_signer, ordering_key, read_delivery, signature_is_valid


def delivery_of(event: str, delivery_id: str, data: dict) -> Delivery:
    return Delivery(event, delivery_id, json.dumps(data).encode())


def digest(*chunks: bytes) -> str:
    signer = body_signer(WEBHOOK_SECRET.encode()).copy()
    for chunk in chunks:
        signer.update(chunk)
    return signer.hexdigest()


def test_signature_check_is_strict():
    body = b'{"a": 1}'
    good = signed_headers("push", body)["X-Hub-Signature-256"]
    assert signature_is_valid(digest(body), good)
    assert signature_is_valid(digest(body[:3], body[3:]), good)  # signed chunk by chunk as it arrives
    assert not signature_is_valid(digest(body + b" "), good)
    assert not signature_is_valid(digest(body), good.replace("sha256=", "sha1="))
    assert not signature_is_valid(digest(body), None)


def test_signature_is_checked_before_anything_else():
    assert read_delivery({"Content-Type": "text/plain"}, b"nonsense", digest(b"nonsense")) == Rejected(
        401, "missing or invalid X-Hub-Signature-256"
    )


def test_ping_needs_no_installation():
    body = json.dumps(official_payload("ping", "payload.json", installation_id=None)).encode()
    delivery = read_delivery(signed_headers("ping", body), body, digest(body))
    assert isinstance(delivery, Delivery) and delivery.installation_id is None


def test_ordering_keys_group_by_pull_request_or_commit():
    pr = delivery_of("pull_request", "1", official_payload("pull_request", "opened.payload.json"))
    run_with_pr = delivery_of(
        "workflow_run", "2", official_payload("workflow_run", "completed.with-pull-requests.payload.json")
    )
    fork_run = official_payload("workflow_run", "completed.payload.json")
    fork_run["workflow_run"]["pull_requests"] = []
    push = delivery_of("push", "4", official_payload("push", "payload.json"))
    assert (
        pr.repository == pr.data["repository"]["full_name"] and push.repository == push.data["repository"]["full_name"]
    )
    assert ordering_key(pr) == f"{pr.repository}#{pr.data['pull_request']['number']}"
    assert (
        ordering_key(run_with_pr)
        == f"{run_with_pr.repository}#{run_with_pr.data['workflow_run']['pull_requests'][0]['number']}"
    )
    assert (
        ordering_key(delivery_of("workflow_run", "3", fork_run))
        == f"octo-org/octo-repo@{fork_run['workflow_run']['head_sha']}"
    )
    assert ordering_key(push) == f"{push.repository}@{push.data['after']}"
    assert ordering_key(delivery_of("installation", "5", {"action": "created"})) is None


def test_malformed_bodies_get_a_plain_reason():
    def answer(body: bytes) -> Rejected | Delivery:
        return read_delivery(signed_headers("push", body), body, digest(body))

    assert answer(b"{not json") == Rejected(400, "body is not valid JSON")
    assert answer(b"[1, 2]") == Rejected(400, "body is not a JSON object shaped like a GitHub delivery")
    assert answer(b'{"installation": "1"}') == Rejected(400, "body is not a JSON object shaped like a GitHub delivery")
    assert answer(b'{"installation": {"id": true}}') == Rejected(400, "an App delivery needs an installation object")


def test_only_well_typed_fields_are_read_from_the_body():
    delivery = delivery_of(
        "pull_request", "1", {"action": 3, "repository": {"full_name": ["x"]}, "pull_request": {"number": "7"}}
    )
    assert delivery.action is None and delivery.repository == "" and ordering_key(delivery) is None
    assert delivery.data["action"] == 3  # the payload itself is untouched
