"""PyTorch peer of the lstm benchmark (plugins/lstm/bench/lstm.bench.ts): the same model (user
embedding, nn.LSTM, linear layer to a softmax over users, users infected so far masked, `</s>` as the
target after the last user) trained with Adam on the very batches the benchmark gives it, timed the
same way (one untimed warm-up pass over the batches, then one timed pass).

usage: python lstm_torch.py BATCHES.json  -> prints one line `RESULT {json}`
BATCHES.json: {"numUsers", "embeddingSize", "hiddenSize", "learnEnd", "threads", "batches": [[[users...], ...], ...]}
"""
import json
import sys
import time

import torch

spec = json.load(open(sys.argv[1]))
torch.manual_seed(1)
torch.set_num_threads(spec["threads"])
U, E, H = spec["numUsers"], spec["embeddingSize"], spec["hiddenSize"]
END, PAD = 1, 0


class Lstm(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = torch.nn.Embedding(U, E)
        self.lstm = torch.nn.LSTM(E, H, batch_first=True)
        self.out = torch.nn.Linear(H, U)

    def forward(self, users):
        h, _ = self.lstm(self.embedding(users))
        logits = self.out(h)  # [B, L, U]
        infected = torch.nn.functional.one_hot(users, U).cumsum(1).clamp(max=1)
        infected[..., PAD] = 1
        return logits.masked_fill(infected.bool(), -1e9)


def tensors(batch):
    L = max(len(c) for c in batch)
    users = torch.zeros(len(batch), L, dtype=torch.long)
    targets = torch.zeros(len(batch), L, dtype=torch.long)
    weights = torch.zeros(len(batch), L)
    for b, c in enumerate(batch):
        users[b, : len(c)] = torch.tensor(c)
        for t in range(len(c)):
            target = c[t + 1] if t + 1 < len(c) else END
            targets[b, t] = target
            weights[b, t] = float(spec["learnEnd"]) if target == END else float(target not in c[: t + 1])
    return users, targets, weights


model = Lstm()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
batches = [tensors(b) for b in spec["batches"]]


def epoch():
    targets_seen = 0
    for users, targets, weights in batches:
        logp = torch.log_softmax(model(users), -1)
        picked = logp.gather(-1, targets.unsqueeze(-1)).squeeze(-1)
        count = weights.sum()
        loss = -(picked * weights).sum() / count
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        targets_seen += int(count.item())
    return targets_seen


epoch()  # warm-up
start = time.perf_counter()
n = epoch()
seconds = time.perf_counter() - start
print("RESULT " + json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "seconds": seconds, "targets": n, "targetsPerSecond": n / seconds}))
