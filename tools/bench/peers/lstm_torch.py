"""PyTorch peer of the lstm benchmark (plugins/lstm/bench/lstm.bench.ts): the same model (user
embedding, nn.LSTM, linear layer to a softmax over users, users infected so far and the padding
user masked, `</s>` as the target after the last user, a target already infected not trained on)
trained with Adam on the very batches the benchmark gives it, timed the same way (two untimed
warm-up passes over the batches, then `passes` timed ones, each reported), in two forms:

- "all": the output layer and the masked softmax at every padded position [B, L, U], the mask a
  running count of one-hot rows (the straightforward port; the lstm plugin did this before);
- "trained": the output layer and the masked softmax only at the trained positions (the hidden
  states gathered), the mask set at (position, infected user) index pairs: what the lstm plugin
  does now (plugins/lstm/src/network.ts, `LstmNetwork.loss`).

Both compute the same loss and gradients. The index lists are built before the timed pass (the
plugin builds its own inside its timed steps).

usage: python lstm_torch.py BATCHES.json  -> prints one line `RESULT {json}`
BATCHES.json: {"numUsers", "embeddingSize", "hiddenSize", "learnEnd", "threads", "passes" (default 1),
"batches": [[[users...], ...], ...]}
"""
import json
import sys
import time

import torch

spec = json.load(open(sys.argv[1]))
torch.set_num_threads(spec["threads"])
U, E, H = spec["numUsers"], spec["embeddingSize"], spec["hiddenSize"]
END, PAD = 1, 0


class Lstm(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = torch.nn.Embedding(U, E)
        self.lstm = torch.nn.LSTM(E, H, batch_first=True)
        self.out = torch.nn.Linear(H, U)

    def hidden(self, users):
        h, _ = self.lstm(self.embedding(users))
        return h  # [B, L, H]

    def loss_all(self, b):
        logits = self.out(self.hidden(b["users"]))  # [B, L, U]
        infected = torch.nn.functional.one_hot(b["users"], U).cumsum(1).clamp(max=1)
        infected[..., PAD] = 1
        logp = torch.log_softmax(logits.masked_fill(infected.bool(), -1e9), -1)
        picked = logp.gather(-1, b["targets"].unsqueeze(-1)).squeeze(-1)
        return -(picked * b["weights"]).sum() / b["count"]

    def loss_trained(self, b):
        h = self.hidden(b["users"]).reshape(-1, H)[b["positions"]]  # [N, H]
        logits = self.out(h)
        mask = torch.zeros(logits.shape, dtype=torch.bool)
        mask[b["mask_rows"], b["mask_users"]] = True
        logp = torch.log_softmax(logits.masked_fill(mask, -1e9), -1)
        picked = logp.gather(-1, b["position_targets"].unsqueeze(-1)).squeeze(-1)
        return -picked.sum() / b["count"]


def tensors(batch):
    L = max(len(c) for c in batch)
    users = torch.zeros(len(batch), L, dtype=torch.long)
    targets = torch.zeros(len(batch), L, dtype=torch.long)
    weights = torch.zeros(len(batch), L)
    positions, position_targets, mask_rows, mask_users = [], [], [], []
    for b, c in enumerate(batch):
        users[b, : len(c)] = torch.tensor(c)
        for t in range(len(c)):
            target = c[t + 1] if t + 1 < len(c) else END
            targets[b, t] = target
            trained = spec["learnEnd"] if target == END else target not in c[: t + 1]
            weights[b, t] = float(trained)
            if trained:
                k = len(positions)
                positions.append(b * L + t)
                position_targets.append(target)
                for u in [PAD, *c[: t + 1]]:
                    mask_rows.append(k)
                    mask_users.append(u)
    return {
        "users": users,
        "targets": targets,
        "weights": weights,
        "count": weights.sum(),
        "positions": torch.tensor(positions, dtype=torch.long),
        "position_targets": torch.tensor(position_targets, dtype=torch.long),
        "mask_rows": torch.tensor(mask_rows, dtype=torch.long),
        "mask_users": torch.tensor(mask_users, dtype=torch.long),
    }


batches = [tensors(b) for b in spec["batches"]]
variants = []
for rows in ["all", "trained"]:
    torch.manual_seed(1)
    model = Lstm()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_of = model.loss_all if rows == "all" else model.loss_trained

    def epoch():
        targets_seen = 0
        for b in batches:
            loss = loss_of(b)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            targets_seen += int(b["count"].item())
        return targets_seen

    epoch()  # warm-up
    epoch()
    passes = []
    for _ in range(spec.get("passes", 1)):
        start = time.perf_counter()
        cpu = time.process_time()
        n = epoch()
        seconds = time.perf_counter() - start
        passes.append({"seconds": seconds, "cpuSeconds": time.process_time() - cpu, "targets": n})
    variants.append({"rows": rows, "passes": passes})

print("RESULT " + json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "variants": variants}))
