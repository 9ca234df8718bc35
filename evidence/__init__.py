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
"""
