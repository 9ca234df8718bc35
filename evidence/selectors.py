from dataclasses import dataclass

from .canonical import GENESIS_HASH
from .models import HEAD_ID, ChainHead


@dataclass(frozen=True)
class Head:
    seq: int
    hash: str

    def as_dict(self) -> dict[str, object]:
        return {"seq": self.seq, "hash": self.hash}


def chain_head() -> Head:
    row = ChainHead.objects.filter(pk=HEAD_ID).values_list("seq", "hash").first()
    return Head(*row) if row else Head(0, GENESIS_HASH)
