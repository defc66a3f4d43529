"""PyTorch peer of the ndm benchmark (`npm run bench -- ndm --peer --epochs N`, plugins/ndm/bench/ndm.bench.ts).

The Neural Diffusion Model (Yang et al., TKDE 2019, sections 4.3-4.5) of the sizes of the plugin's
defaults, written from the paper and the facts in shared/docs/MODELS.md (not from the authors' code):
user embedding N(0, 1) with a zero padding row; one multi-head attention layer, per-head Q/K/V
[h, d, d] without bias (Xavier-normal), scores divided by sqrt(d), future positions and padding keys
masked, dropout on the attention weights; heads concatenated -> Linear(h d -> d) -> dropout ->
+ embedding -> LayerNorm (standard, torch's; the plugin's default `layerNorm: standard`); the window
as a causal Conv1d(d -> |U|, kernel win, with bias) (logits at t from the active embeddings at
t-win+1..t), computed as one matrix product of the concatenated window; users infected at positions 0..t and the padding user masked (-1e9, as the plugin);
the next user as the target at every position, `</s>` after the last user and repeated users
weighted out (`learnEnd: false`, the bench's ndm-memetracker setting); the mean cross-entropy of a
batch's targets; Adam (0.9, 0.98, 1e-9) on the Noam schedule d^-0.5 min(step^-0.5, step warmup^-1.5).

Batches: the very batches the benchmark's own run trained on, epoch by epoch, each split as the
plugin splits it (length-sorted sub-batches, each padded to its own longest cascade; the gradients
of the sub-batches are summed before one Adam step, the same gradient as the whole batch) or, with
"subBatches": false, each batch padded to its longest cascade (the authors' layout).

Timing: the whole run of N epochs from the model's construction, the first (cold) epoch included,
host-side tensor building of every batch inside the epochs (the plugin builds its batches inside
its timed epochs too). `import torch` and reading the batches file are not in `runSeconds` (the
benchmark's process wall time has them).

usage: python ndm_torch.py SPEC.json [THREADS]  -> prints one line `RESULT {json}`
THREADS (else the spec's "threads", else 0): torch intra-op threads, 0 for the machine's cores.
On a loaded machine more than one thread can collapse: OpenMP's threads spin at every barrier, and
when one of them is descheduled every op waits a scheduler time slice (measured here, 2026-12-04,
load 5 on 2 cores, 60 batches: 43 s with 2 threads, 2.3 s with 1, 2.8 s with 2 and
OMP_WAIT_POLICY=PASSIVE in the environment).
SPEC.json: {"numUsers", "dimension", "heads", "window", "dropout", "warmupSteps", "threads",
            "subBatches", "seed", "cascades": [[user, ...], ...],
            "epochs": [[[[cascade index, ...] (a sub-batch), ...] (a batch), ...] (an epoch), ...]}
"""
import json
import math
import os
import sys
import time

import torch
import torch.nn.functional as F

spec = json.load(open(sys.argv[1]))
threads = int(sys.argv[2] if len(sys.argv) > 2 else spec.get("threads") or 0) or os.cpu_count() or 1
torch.set_num_threads(threads)
torch.manual_seed(int(spec.get("seed", 1)))
U, D, H, WIN = spec["numUsers"], spec["dimension"], spec["heads"], spec["window"]
DROPOUT, WARMUP = spec["dropout"], spec["warmupSteps"]
PAD, END = 0, 1
MASKED = -1e9
cascades = spec["cascades"]


class Ndm(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = torch.nn.Embedding(U, D, padding_idx=PAD)
        torch.nn.init.normal_(self.embedding.weight)
        with torch.no_grad():
            self.embedding.weight[PAD].zero_()
        self.w_q = torch.nn.Parameter(torch.empty(H, D, D))
        self.w_k = torch.nn.Parameter(torch.empty(H, D, D))
        self.w_v = torch.nn.Parameter(torch.empty(H, D, D))
        for w in (self.w_q, self.w_k, self.w_v):
            torch.nn.init.xavier_normal_(w)
        self.output = torch.nn.Linear(H * D, D)
        torch.nn.init.xavier_normal_(self.output.weight)
        self.norm = torch.nn.LayerNorm(D)
        self.window = torch.nn.Conv1d(D, U, WIN)

    def forward(self, users):
        B, L = users.shape
        x = self.embedding(users)  # [B, L, d]
        q = torch.einsum("bld,hde->bhle", x, self.w_q)
        k = torch.einsum("bld,hde->bhle", x, self.w_k)
        v = torch.einsum("bld,hde->bhle", x, self.w_v)
        scores = q @ k.transpose(-1, -2) / math.sqrt(D)  # [B, h, L, L] (Eq. 4's exponent)
        future = torch.ones(L, L, dtype=torch.bool).triu(1)
        blocked = future.unsqueeze(0) | (users == PAD).unsqueeze(1)  # [B, L(query), L(key)]
        scores = scores.masked_fill(blocked.unsqueeze(1), MASKED)
        weights = F.dropout(torch.softmax(scores, -1), DROPOUT, self.training)
        heads = (weights @ v).transpose(1, 2).reshape(B, L, H * D)  # Eq. 3 and 5
        act = self.norm(x + F.dropout(self.output(heads), DROPOUT, self.training))  # section 4.5
        # Causal window (Eq. 6): [act_t, act_{t-1}, ..., act_{t-win+1}] (zero rows before the start)
        # times the Conv1d's weight as one [win d, |U|] matrix: the Conv1d's very numbers (the same
        # loss to float rounding, checked), one product instead of a convolution, 18% faster a batch
        # here (60 batches, 1 thread: 1.8 s against 2.2 s), so the peer is not slowed by its layout.
        padded_act = F.pad(act, (0, 0, WIN - 1, 0))
        window = torch.cat([padded_act[:, WIN - 1 - n : WIN - 1 - n + L] for n in range(WIN)], -1)
        weight = self.window.weight.flip(-1).permute(0, 2, 1).reshape(U, WIN * D)
        return F.linear(window, weight, self.window.bias)  # [B, L, U]


def padded(rows):
    L = max(len(c) for c in rows)
    users = torch.zeros(len(rows), L, dtype=torch.long)
    for b, c in enumerate(rows):
        users[b, : len(c)] = torch.tensor(c)
    return users


def loss_sum(model, users):
    """Summed cross-entropy of the trained targets of one padded sub-batch, and their count."""
    B, L = users.shape
    lengths = (users != PAD).sum(1, keepdim=True)
    positions = torch.arange(L).unsqueeze(0)
    targets = torch.cat([users[:, 1:], torch.zeros(B, 1, dtype=torch.long)], 1)
    targets = torch.where(positions + 1 < lengths, targets, torch.full_like(targets, END))
    infected = F.one_hot(users, U).cumsum(1) > 0  # users at positions 0..t
    infected[..., PAD] = True
    # Trained: a real next user (not `</s>`, not padding) not infected already.
    trained = (positions + 1 < lengths) & ~infected.gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    logits = model(users).masked_fill(infected, MASKED)
    picked = torch.log_softmax(logits, -1).gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    return -(picked * trained).sum(), int(trained.sum())


model = Ndm()
model.train()
optimizer = torch.optim.Adam(model.parameters(), lr=1.0, betas=(0.9, 0.98), eps=1e-9)
step = 0
epochs = []
run_start = time.perf_counter()
run_cpu = time.process_time()
for plan in spec["epochs"]:
    start = time.perf_counter()
    total_loss, total_targets = 0.0, 0
    for batch in plan:
        groups = batch if spec.get("subBatches", True) else [[i for g in batch for i in g]]
        subs = [padded([cascades[i] for i in g]) for g in groups]
        optimizer.zero_grad()
        parts = [loss_sum(model, users) for users in subs]
        count = sum(n for _, n in parts)
        if count == 0:
            continue
        # Mean over the batch's targets (the plugin's lossReduction: mean); one backward of the sum
        # of the sub-batches is the sum of their gradients.
        (sum(s for s, _ in parts) / count).backward()
        step += 1
        lr = D**-0.5 * min(step**-0.5, step * WARMUP**-1.5)
        for g in optimizer.param_groups:
            g["lr"] = lr
        optimizer.step()
        total_loss += sum(float(s.detach()) for s, _ in parts)
        total_targets += count
    seconds = time.perf_counter() - start
    epochs.append({"seconds": seconds, "targets": total_targets, "loss": total_loss / max(1, total_targets)})
    print(f"[torch] epoch {len(epochs)}: {seconds:.1f} s, {total_targets / seconds:.0f} targets/s, loss {total_loss / max(1, total_targets):.3f}", file=sys.stderr)

print(
    "RESULT "
    + json.dumps(
        {
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "interopThreads": torch.get_num_interop_threads(),
            "ompWaitPolicy": os.environ.get("OMP_WAIT_POLICY", ""),
            "subBatches": spec.get("subBatches", True),
            "runSeconds": time.perf_counter() - run_start,
            "runCpuSeconds": time.process_time() - run_cpu,
            "epochs": epochs,
        }
    )
)
