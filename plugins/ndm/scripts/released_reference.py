"""Expected next-user log-probabilities of the NDM authors' released checkpoints, computed
independently of the project (numpy, float64) in the authors' own index space and tensor layout,
for the importer's test (plugins/ndm/src/released.test.ts).

    python3 plugins/ndm/scripts/released_reference.py /work/shared/reference/ndm-released

The architecture as the authors' transformer/Models.py builds it (read for the facts; MODELS.md
"NDM"): embedding lookup; per head i, q = x w_qs[i], k = x w_ks[i], v = x w_vs[i]; scores q k^T /
sqrt(d_model) with future positions masked; softmax; heads concatenated in head order; Linear
(weight [d, h d], bias); residual; their layer norm (z - mean) / (unbiased std + 1e-3) * a_2 + b_2,
skipped when the sequence has length 1; Conv1d(d -> U, kernel 3, padding 2) with the last 2
outputs cut (causal); users at positions 0..t and padding masked. Dropout is off (eval).

Prints, per dataset, a few test cascades (raw user ids) and at every position the log-softmax of
the true next user and of three fixed probe users, plus the log-sum-exp of the logits. Position 0
comes from the seed alone (length 1: no layer norm), as in the authors' sampling; positions t >= 1
from the whole sequence (causal, so the same as from its first t + 1 users).
"""
import json
import sys

import numpy as np


def load(base):
    info = json.load(open(base + '.json'))
    raw = np.fromfile(base + '.bin', dtype='<f4').astype(np.float64)
    t = {n: raw[m['offsetFloats']:m['offsetFloats'] + m['lengthFloats']].reshape(m['shape']) for n, m in info['tensors'].items()}
    return info, t


def forward(info, t, seq):
    """Logits [L, U] for the sequence seq (the authors' indices)."""
    s = info['settings']
    d, h = s['d_model'], s['n_head']
    p = 'layer_stack.0.slf_attn.'
    x = t['user_emb.weight'][seq]  # [L, d]
    L = len(seq)
    future = np.triu(np.ones((L, L)), k=1) > 0
    heads = []
    for i in range(h):
        q = x @ t[p + 'w_qs'][i]
        k = x @ t[p + 'w_ks'][i]
        v = x @ t[p + 'w_vs'][i]
        a = q @ k.T / np.sqrt(d)
        a[future] = -np.inf
        a = np.exp(a - a.max(axis=1, keepdims=True))
        a /= a.sum(axis=1, keepdims=True)
        heads.append(a @ v)
    cat = np.concatenate(heads, axis=1)  # [L, h d]
    out = cat @ t[p + 'proj.linear.weight'].T + t[p + 'proj.linear.bias']
    z = out + x
    if L > 1:
        mu = z.mean(axis=1, keepdims=True)
        sd = z.std(axis=1, ddof=1, keepdims=True)
        z = (z - mu) / (sd + 1e-3) * t[p + 'layer_norm.a_2'] + t[p + 'layer_norm.b_2']
    W = t['conv.weight']  # [U, d, K]
    K = W.shape[2]
    padded = np.concatenate([np.zeros((K - 1, d)), z], axis=0)  # causal: K-1 zero rows before
    logits = np.zeros((L, W.shape[0])) + t['conv.bias']
    for pos in range(L):
        for k in range(K):
            logits[pos] += W[:, :, k] @ padded[pos + k]
    for pos in range(L):
        logits[pos, 0] = -np.inf
        logits[pos, seq[:pos + 1]] = -np.inf
    return logits


def main(ref_dir):
    out = {}
    for ds in ['memetracker', 'irvine']:
        info, t = load(f'{ref_dir}/{ds}')
        u2idx = info['u2idx']
        idx2u = {v: k for k, v in u2idx.items()}
        test = [line.split() for line in open(f'{ref_dir}/../../data/micro/{ds}/cascadetest.txt') if line.strip()]
        rows = []
        for c in [0, 1, 2]:
            raw = [pair.split(',')[0] for pair in test[c]][:12]
            seq = [u2idx[r] for r in raw]
            lg = forward(info, t, seq)
            # Position 0 as the authors' sampler computes it: the sequence of the seed alone, whose
            # layer norm is skipped (the project's nextUserScores and simulator do the same).
            lg[0] = forward(info, t, seq[:1])[0]
            probes = [idx2u[2], idx2u[3], idx2u[10]]
            pos_rows = []
            for pos in range(len(seq) - 1):
                m = np.max(lg[pos][np.isfinite(lg[pos])])
                lse = m + np.log(np.sum(np.exp(lg[pos][np.isfinite(lg[pos])] - m)))
                logp = lambda r: float(lg[pos, u2idx[r]] - lse) if np.isfinite(lg[pos, u2idx[r]]) else None
                pos_rows.append({'next': logp(raw[pos + 1]), 'probes': [logp(r) for r in probes], 'logSumExp': float(lse)})
            rows.append({'users': raw, 'probes': probes, 'positions': pos_rows})
        out[ds] = rows
    print(json.dumps(out))


if __name__ == '__main__':
    main(sys.argv[1] if len(sys.argv) > 1 else '/work/shared/reference/ndm-released')
