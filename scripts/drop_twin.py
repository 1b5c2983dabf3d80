"""drop_twin.py - a PyTorch 1.13 twin of the DROP model of lib/model/model.h (doc/model.md §1-5).

The same modules, in the same order and with the same parameter names as the C registry
(lib/model/*.c): HRNet-W32 / hrnet-tiny with the official HRNet-W32-C names, the DPU, PPE
and parsing classifier, WAMP, the reductions, BNNeck and classifiers; the losses L_reid,
L_pct (with the PEMB memory bank) and L_hp. Written plainly from doc/model.md, not from the
C code, so the C tests compare against an independent reading.

Weights: `init_philox(model, seed)` draws the initial values of doc/model.md §6 from the same
Philox4x32-10 streams as the C side (entry i of the state dict uses stream 0x10000000 + i),
so C and PyTorch start from the same weights without a weights file; `load_records` reads
weights written by the C side (a names records .npy + a flat float32 .npy).

Used by scripts/make-model-fixtures; run with Debian's /usr/bin/python3.
"""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

STREAM_INIT = 0x10000000

HRNET = {
    "hrnet-w32": dict(stem=64, l1_planes=64, l1_blocks=4, c=(32, 64, 128, 256),
                      modules=(1, 4, 3), blocks=4),
    "hrnet-tiny": dict(stem=16, l1_planes=16, l1_blocks=2, c=(8, 16, 32, 64),
                       modules=(1, 1, 1), blocks=2),
}


# ---- Philox4x32-10 and the normal draws of kernels/maths/loss_maths.h ------------------------------

def philox4x32(blk, stream, seed):
    """The four words of counter (blk low, blk high, stream, 0) under key (seed)."""
    m32 = np.uint64(0xFFFFFFFF)
    blk = blk.astype(np.uint64)
    c0, c1 = blk & m32, blk >> np.uint64(32)
    c2 = np.full_like(c0, np.uint64(stream))
    c3 = np.zeros_like(c0)
    k0, k1 = np.uint64(seed & 0xFFFFFFFF), np.uint64(seed >> 32)
    for _ in range(10):
        p0 = np.uint64(0xD2511F53) * c0
        p1 = np.uint64(0xCD9E8D57) * c2
        hi0, lo0 = p0 >> np.uint64(32), p0 & m32
        hi1, lo1 = p1 >> np.uint64(32), p1 & m32
        c0, c1, c2, c3 = hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0
        k0 = (k0 + np.uint64(0x9E3779B9)) & m32
        k1 = (k1 + np.uint64(0xBB67AE85)) & m32
    return c0, c1, c2, c3


def philox_normal(seed, stream, n):
    """Elements 0..n-1 of the normal stream (seed, stream) as float32."""
    nb = (n + 3) // 4
    w = philox4x32(np.arange(nb, dtype=np.uint64), stream, seed)

    def pair(a, b):
        u1 = ((a >> np.uint64(8)).astype(np.float64) + 1.0) / 16777217.0
        u2 = (b >> np.uint64(8)).astype(np.float64) / 16777216.0
        r = np.sqrt(-2.0 * np.log(u1))
        return ((r * np.cos(6.283185307179586 * u2)).astype(np.float32),
                (r * np.sin(6.283185307179586 * u2)).astype(np.float32))

    z0, z1 = pair(w[0], w[1])
    z2, z3 = pair(w[2], w[3])
    return np.stack([z0, z1, z2, z3], 1).reshape(-1)[:n]


# ---- Building blocks ---------------------------------------------------------------------------

def conv(cin, cout, k, stride=1, bias=False):
    return nn.Conv2d(cin, cout, k, stride, k // 2, bias=bias)


class BasicBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv1, self.bn1 = conv(c, c, 3), nn.BatchNorm2d(c)
        self.conv2, self.bn2 = conv(c, c, 3), nn.BatchNorm2d(c)

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(y)) + x)


class IBN(nn.Module):
    """IBN-a (IBN-Net's resnet50_ibn_a): affine InstanceNorm2d on the first half of the
    channels, BatchNorm2d on the rest."""

    def __init__(self, planes):
        super().__init__()
        self.half = planes // 2
        self.IN = nn.InstanceNorm2d(self.half, affine=True)
        self.BN = nn.BatchNorm2d(planes - self.half)

    def forward(self, x):
        a, b = torch.split(x, self.half, 1)
        return torch.cat([self.IN(a.contiguous()), self.BN(b.contiguous())], 1)


class Bottleneck(nn.Module):
    """torchvision's (v1.5: the stride on the 3x3 conv) and HRNet's bottleneck; bn1 is IBN-a
    when ibn."""

    def __init__(self, cin, planes, stride=1, ibn=False):
        super().__init__()
        self.conv1 = conv(cin, planes, 1)
        self.bn1 = IBN(planes) if ibn else nn.BatchNorm2d(planes)
        self.conv2, self.bn2 = conv(planes, planes, 3, stride), nn.BatchNorm2d(planes)
        self.conv3, self.bn3 = conv(planes, 4 * planes, 1), nn.BatchNorm2d(4 * planes)
        self.downsample = None
        if cin != 4 * planes or stride != 1:
            self.downsample = nn.Sequential(conv(cin, 4 * planes, 1, stride),
                                            nn.BatchNorm2d(4 * planes))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = F.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        r = x if self.downsample is None else self.downsample(x)
        return F.relu(y + r)


class HRModule(nn.Module):
    def __init__(self, nb, c, blocks):
        super().__init__()
        self.nb = nb
        self.branches = nn.ModuleList(
            nn.Sequential(*[BasicBlock(c[i]) for _ in range(blocks)]) for i in range(nb))
        fuse = []
        for i in range(nb if nb > 1 else 0):
            row = []
            for j in range(nb):
                if j > i:
                    row.append(nn.Sequential(conv(c[j], c[i], 1), nn.BatchNorm2d(c[i]),
                                             nn.Upsample(scale_factor=2 ** (j - i),
                                                         mode="nearest")))
                elif j == i:
                    row.append(None)
                else:
                    chain = []
                    for k in range(i - j):
                        if k == i - j - 1:
                            chain.append(nn.Sequential(conv(c[j], c[i], 3, 2),
                                                       nn.BatchNorm2d(c[i])))
                        else:
                            chain.append(nn.Sequential(conv(c[j], c[j], 3, 2),
                                                       nn.BatchNorm2d(c[j]), nn.ReLU()))
                    row.append(nn.Sequential(*chain))
            fuse.append(nn.ModuleList(row))
        self.fuse_layers = nn.ModuleList(fuse) if fuse else None

    def forward(self, xs):
        xs = [b(x) for b, x in zip(self.branches, xs)]
        if self.nb == 1:
            return xs
        out = []
        for i in range(self.nb):
            y = xs[0] if i == 0 else self.fuse_layers[i][0](xs[0])
            for j in range(1, self.nb):
                y = y + (xs[j] if i == j else self.fuse_layers[i][j](xs[j]))
            out.append(F.relu(y))
        return out


def cbr(cin, cout, k, stride=1, relu=True):
    mods = [conv(cin, cout, k, stride), nn.BatchNorm2d(cout)]
    if relu:
        mods.append(nn.ReLU())
    return nn.Sequential(*mods)


# ---- The model ---------------------------------------------------------------------------------

class Drop(nn.Module):
    """DROP with an HRNet backbone. cfg: dict with backbone, parts, dim, classes,
    hp_channels, decouple, ppe (the fields of struct drop_model_config)."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        if cfg["backbone"] in ("resnet50", "resnet50-ibn"):
            stage_channels = self.build_resnet50(cfg["backbone"] == "resnet50-ibn")
        else:
            stage_channels = self.build_hrnet(HRNET[cfg["backbone"]])
        self.build_heads(cfg, stage_channels)

    def build_resnet50(self, ibn):
        """torchvision's ResNet-50 names, last stride 1 (layer4 keeps stride 16); with ibn,
        IBN-a in layers 1-3."""
        self.conv1, self.bn1 = conv(3, 64, 7, 2), nn.BatchNorm2d(64)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        cin = 64
        for i, (n, planes, stride) in enumerate(((3, 64, 1), (4, 128, 2), (6, 256, 2),
                                                  (3, 512, 1))):
            blocks = []
            for b in range(n):
                blocks.append(Bottleneck(cin, planes, stride if b == 0 else 1, ibn and i < 3))
                cin = 4 * planes
            setattr(self, f"layer{i + 1}", nn.Sequential(*blocks))
        return [256, 512, 1024, 2048]

    def build_hrnet(self, s):
        c = s["c"]
        self.conv1, self.bn1 = conv(3, s["stem"], 3, 2), nn.BatchNorm2d(s["stem"])
        self.conv2, self.bn2 = conv(s["stem"], s["stem"], 3, 2), nn.BatchNorm2d(s["stem"])
        l1, cin = [], s["stem"]
        for _ in range(s["l1_blocks"]):
            l1.append(Bottleneck(cin, s["l1_planes"]))
            cin = 4 * s["l1_planes"]
        self.layer1 = nn.Sequential(*l1)
        self.transition1 = nn.ModuleList([cbr(cin, c[0], 3),
                                          nn.Sequential(cbr(cin, c[1], 3, 2))])
        self.stage2 = nn.Sequential(*[HRModule(2, c, s["blocks"]) for _ in range(s["modules"][0])])
        self.transition2 = nn.ModuleList([None, None, nn.Sequential(cbr(c[1], c[2], 3, 2))])
        self.stage3 = nn.Sequential(*[HRModule(3, c, s["blocks"]) for _ in range(s["modules"][1])])
        self.transition3 = nn.ModuleList([None, None, None,
                                          nn.Sequential(cbr(c[2], c[3], 3, 2))])
        self.stage4 = nn.Sequential(*[HRModule(4, c, s["blocks"]) for _ in range(s["modules"][2])])
        self.incre_modules = nn.ModuleList(nn.Sequential(Bottleneck(c[i], c[i])) for i in range(4))
        return [4 * ci for ci in c]

    def build_heads(self, cfg, stage_channels):
        creid = sum(stage_channels)
        self.creid = creid
        K, D, chp = cfg["parts"], cfg["dim"], cfg["hp_channels"]
        if cfg["decouple"]:
            self.dpu = nn.Module()
            self.dpu.reduce = nn.ModuleList(cbr(stage_channels[i], chp, 1) for i in range(4))
            if cfg["ppe"]:
                self.ppe = nn.Sequential(conv(1, chp, 1), nn.BatchNorm2d(chp), nn.ReLU(),
                                         conv(chp, chp, 1), nn.BatchNorm2d(chp))
        self.parsing = nn.Module()
        self.parsing.bn = nn.BatchNorm2d(chp if cfg["decouple"] else creid)
        self.parsing.classifier = nn.Conv2d(chp if cfg["decouple"] else creid, K + 1, 1)
        for name in ("global", "foreground", "parts"):
            setattr(self, name + "_reduction",
                    nn.Sequential(nn.Linear(creid, D), nn.BatchNorm1d(D), nn.ReLU()))
        for name, dim in (("global", D), ("foreground", D), ("concat", K * D)):
            m = nn.Module()
            m.bn = nn.BatchNorm1d(dim)
            m.bn.bias.requires_grad_(False)
            if cfg["classes"] > 0:
                m.fc = nn.Linear(dim, cfg["classes"], bias=False)
            setattr(self, name + "_classifier", m)

    # -- init ------------------------------------------------------------------------------

    def init_kind(self, name, t):
        """How doc/model.md §6 initialises entry `name` (the C side's enum drop_init)."""
        last = name.rsplit(".", 1)[-1]
        if last in ("running_mean", "num_batches_tracked"):
            return "zero", 0
        if last == "running_var":
            return "one", 0
        if name.startswith("parsing.classifier.") and last == "weight":
            return "normal", 0.001
        if "_reduction.0." in name and last == "weight":
            return "normal", 0.01
        if "_classifier.fc." in name:
            return "normal", 0.001
        if last == "bias":
            return "zero", 0
        if t.dim() == 4:
            return "kaiming", 0
        return "one", 0   # batch-norm weights

    def init_philox(self, seed):
        with torch.no_grad():
            for i, (name, t) in enumerate(self.state_dict(keep_vars=True).items()):
                kind, std = self.init_kind(name, t)
                if kind == "zero":
                    t.zero_()
                elif kind == "one":
                    t.fill_(1)
                else:
                    if kind == "kaiming":
                        std = math.sqrt(2.0 / (t.numel() / t.shape[1]))
                    z = philox_normal(seed, STREAM_INIT + i, t.numel()).astype(np.float64)
                    v = (z * std).astype(np.float32)
                    t.copy_(torch.from_numpy(v).reshape(t.shape).to(t.dtype))

    # -- forward ---------------------------------------------------------------------------

    def backbone(self, x):
        if self.cfg["backbone"].startswith("resnet50"):
            x = self.maxpool(F.relu(self.bn1(self.conv1(x))))
            out = []
            for i in range(4):
                x = getattr(self, f"layer{i + 1}")(x)
                out.append(x)
            return out
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.bn2(self.conv2(x)))
        x = self.layer1(x)
        xs = [t(x) for t in self.transition1]
        ys = self.stage2(xs)
        xs = [ys[i] if t is None else t(ys[-1]) for i, t in enumerate(self.transition2)]
        ys = self.stage3(xs)
        xs = [ys[i] if t is None else t(ys[-1]) for i, t in enumerate(self.transition3)]
        ys = self.stage4(xs)
        return [m(y) for m, y in zip(self.incre_modules, ys)]

    def forward(self, images):
        """All intermediate results in a dict (train or eval mode per self.training)."""
        cfg, K = self.cfg, self.cfg["parts"]
        P = self.backbone(images)
        hf, wf = P[0].shape[2:]
        ups = [P[0]] + [F.interpolate(p, size=(hf, wf), mode="bilinear", align_corners=True)
                        for p in P[1:]]
        preid = torch.cat(ups, 1)
        if cfg["decouple"]:
            cr = [m(p) for m, p in zip(self.dpu.reduce, P)]

            def up(x, like):
                if x.shape[2:] == like.shape[2:]:
                    return x
                return F.interpolate(x, size=like.shape[2:], mode="bilinear",
                                     align_corners=False)
            t4 = cr[3]
            t3 = cr[2] + up(t4, cr[2])
            t2 = cr[1] + up(t3, cr[1])
            php = cr[0] + up(t2, cr[0]) + up(t3, cr[0]) + up(t4, cr[0])
            if cfg["ppe"]:
                rows = torch.arange(hf, dtype=torch.float32) / max(hf - 1, 1)
                pos = rows.to(php.dtype)[None, None, :, None].expand(images.shape[0], 1, hf, wf)
                php = php + self.ppe(pos.contiguous())
            x = php
        else:
            x = preid
        S = self.parsing.classifier(self.parsing.bn(x))
        prob = torch.softmax(S, 1)
        fg = prob[:, 1:].max(1).values
        maps = torch.cat([fg[:, None], prob], 1)                       # (N, K+2, H, W)
        gap = preid.mean((2, 3))
        # WAMP one map at a time: the (N, K+2, C, H, W) product of all maps at once would
        # take 10 GB at batch 64 and 256x128 (and make the twin a poor speed baseline)
        wavg = torch.einsum("nkhw,nchw->nkc", maps, preid) / \
            maps.sum((2, 3)).clamp(min=1e-6)[..., None]
        wmax = torch.stack([(maps[:, j, None] * preid).flatten(2).max(-1).values
                            for j in range(maps.shape[1])], 1)
        e = wavg + wmax
        n = images.shape[0]
        g1 = self.global_reduction(gap)
        f1 = self.foreground_reduction(e[:, 0])
        p1 = self.parts_reduction(e[:, 2:].reshape(n * K, -1)).reshape(n, K, -1)
        out = dict(P=P, preid=preid, S=S, prob=prob, fg=fg, gap=gap, e=e, g1=g1, f1=f1, p1=p1)
        out["bg"] = self.global_classifier.bn(g1)
        out["bf"] = self.foreground_classifier.bn(f1)
        out["bc"] = self.concat_classifier.bn(p1.reshape(n, -1))
        if cfg["classes"] > 0:
            out["lg"] = self.global_classifier.fc(out["bg"])
            out["lf"] = self.foreground_classifier.fc(out["bf"])
            out["lc"] = self.concat_classifier.fc(out["bc"])
        out["vis"] = prob[:, 1:].flatten(2).max(-1).values
        return out


# ---- Losses (doc/model.md §5) -----------------------------------------------------------------

def triplet(emb, pid, vis, bank, bank_pid, bank_vis, margin, all_parts):
    """PCT: per-part distances (sqrt of clamp(1e-12)), averaged over the parts visible in
    both (all with all_parts); batch-hard mining over batch + bank (first on ties, batch
    first); mean over anchors with both of [d+ - d- + margin]+."""
    b = emb.shape[0]
    e = torch.cat([emb, bank])
    p = torch.cat([pid, bank_pid])
    v = torch.cat([vis, bank_vis]).bool()
    if all_parts:
        v = torch.ones_like(v)
    d = ((emb[:, None] - e[None]) ** 2).sum(-1).clamp(min=1e-12).sqrt()     # (B, T, K)
    w = (v[:b, None, :] & v[None, :, :]).to(d.dtype)
    cnt = w.sum(-1)
    dist = (d * w).sum(-1) / cnt.clamp(min=1)
    losses = []
    for i in range(b):
        pos = [j for j in range(len(p)) if j != i and cnt[i, j] > 0 and p[j] == p[i]]
        neg = [j for j in range(len(p)) if j != i and cnt[i, j] > 0 and p[j] != p[i]]
        if not pos or not neg:
            continue
        jp = max(pos, key=lambda j: dist[i, j].item())
        jn = min(neg, key=lambda j: dist[i, j].item())
        losses.append(F.relu(dist[i, jp] - dist[i, jn] + margin))
    if not losses:
        return emb.sum() * 0, 0
    return torch.stack(losses).mean(), len(losses)


class Bank:
    """PEMB: the parts embeddings, identities and visibility of the previous M - 1 batches."""

    def __init__(self, m):
        self.m, self.slots = m, []

    def tensors(self, like_emb):
        if not self.slots:
            k, d = like_emb.shape[1:]
            z = like_emb.new_zeros((0, k, d))
            return z, torch.zeros(0, dtype=torch.long), torch.zeros((0, k), dtype=torch.bool)
        return tuple(torch.cat(x) for x in zip(*self.slots))

    def push(self, emb, pid, vis):
        if self.m <= 1:
            return
        if len(self.slots) == self.m - 1:
            self.slots.pop(0)
        self.slots.append((emb.detach().clone(), pid.clone(), vis.clone()))


def losses(model, out, pids, labels, bank, tcfg):
    """The loss terms (a dict of scalars) and the total to differentiate."""
    eps = tcfg["label_smooth"]
    L = {}
    L["id_global"] = F.cross_entropy(out["lg"], pids, label_smoothing=eps)
    L["id_fore"] = F.cross_entropy(out["lf"], pids, label_smoothing=eps)
    L["id_concat"] = F.cross_entropy(out["lc"], pids, label_smoothing=eps)
    vis = out["vis"].detach() > tcfg["vis_threshold"]
    mode = tcfg["triplet"]
    if mode == "none":
        L["pct"], nvalid = out["p1"].sum() * 0, 0
    elif mode == "part-avg":
        bk, bp, bv = bank.tensors(out["p1"])
        L["pct"], nvalid = triplet(out["p1"], pids, vis, bk[:0], bp[:0], bv[:0],
                                   tcfg["margin"], True)
    else:
        bk, bp, bv = bank.tensors(out["p1"])
        L["pct"], nvalid = triplet(out["p1"], pids, vis, bk.to(out["p1"].dtype), bp, bv,
                                   tcfg["margin"], tcfg["triplet_all_parts"])
    prob = out["prob"]
    L["hp_ce"] = F.cross_entropy(out["S"], labels, label_smoothing=eps)
    L["hp_smooth"] = ((prob[:, :, 1:] - prob[:, :, :-1]).abs().sum(1).mean()
                      + (prob[..., 1:] - prob[..., :-1]).abs().sum(1).mean())
    lam, gamma = tcfg["hp_weight"], tcfg["ss_gamma"]
    total = (L["id_global"] + L["id_fore"] + L["id_concat"] + L["pct"]
             + lam * (L["hp_ce"] + gamma * L["hp_smooth"]))
    if mode == "pct":
        bank.push(out["p1"], pids, vis)
    L["pct_valid"] = nvalid
    return total, L


def lr_at(epoch, base=3.5e-4, warmup=10, f0=0.01, milestones=(40, 70), gamma=0.1):
    """doc/model.md §6's schedule (kernels drop_lr_schedule)."""
    f = 1.0
    if epoch < warmup:
        a = epoch / warmup
        f = f0 * (1 - a) + a
    for m in milestones:
        if m <= epoch:
            f *= gamma
    return base * f


# ---- Weights from / to the C side ----------------------------------------------------------

NAME_DTYPE = np.dtype([("name", "S96"), ("numel", "<i8")])


def save_records(model, names_path, data_path, tensors=None):
    """Write the state dict (or `tensors`, a name -> tensor dict in state order) as a
    names records .npy and one flat float32 .npy."""
    items = list((tensors or model.state_dict()).items())
    rec = np.array([(n.encode(), t.numel()) for n, t in items], dtype=NAME_DTYPE)
    flat = np.concatenate([t.detach().double().reshape(-1).numpy().astype(np.float32)
                           for _, t in items]) if items else np.zeros(0, np.float32)
    np.save(names_path, rec)
    np.save(data_path, flat)


def load_records(model, names_path, data_path):
    rec, flat = np.load(names_path), np.load(data_path)
    sd, off = model.state_dict(keep_vars=True), 0
    with torch.no_grad():
        for name, numel in rec:
            t = sd[name.decode()]
            t.copy_(torch.from_numpy(flat[off:off + numel].copy()).reshape(t.shape).to(t.dtype))
            off += numel
