"""The evidence ledger: a hash chain over every record the other apps declare.

Evidence is a ledger the other apps write into and read from; it imports none
of them (only `core`, enforced by the import-linter contract in
`.importlinter`).

How an app chains its records: it sets a `ChainSpec` (from
`evidence.registry`) as the `chain_spec` class attribute of a model.

    class Publication(models.Model):
        chain_spec = ChainSpec(time_field="snapshot_taken_at", user_field="approved_by",
                               action="published", publishes=True)

    class TrackedModel(models.Model):          # abstract base of page content
        chain_spec = ChainSpec(history=True)   # chain every simple-history version

    class DocumentDownload(models.Model):      # personal fields enter as salted commitments
        chain_spec = ChainSpec(time_field="downloaded_at", action="downloaded", personal=("ip", "user_agent"))

Evidence finds the declarations through the app registry (`django.apps`) and
connects its receivers (`evidence.receivers`) to exactly those models: each
new history row or record is appended to the chain in the same transaction
as the row itself. That receiver is the one documented mechanism for chaining;
it is not an event, because a link must commit or roll back with its row.

Reading back: `evidence.selectors.chain_head()` is what the public footer,
trust.json, the audit log and exports show; apps above import it directly.

The chain is also a transparency log: its links are the leaves of an RFC 6962
Merkle tree (`evidence.tlog_store`), whose state is signed as C2SP checkpoints
(`evidence.checkpoints`) with a key outside the database (`evidence.signing`).
`evidence.tlog` holds the tree, proofs and signed notes in plain Python, for
verifiers that run without Django. Apps above read the published checkpoints
through `evidence.selectors` (`checkpoint_latest`, `checkpoint_covering`,
`signing_keys_public`). This package's `__init__` imports nothing, so
`evidence.tlog` can be imported without Django installed.
"""
