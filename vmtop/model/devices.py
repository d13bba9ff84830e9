"""What a mapping of a character device is, from its path: a short name (a region's
``object``) and the driver's meaning (the region detail's explanation).

Only devices whose mappings are well known are named; any other ``/dev/…`` mapping is
still a ``device`` region, named by its path. Pure: the path the kernel printed is the
only input (the device file itself is never opened: it belongs to the target's mount
namespace, and opening a GPU device has side effects).

The NVIDIA texts follow the open kernel module (kernel-open/nvidia/nv-mmap.c: a GPU
node maps the GPU's PCI BARs, registers or video memory, with VM_IO | VM_PFNMAP, which
counts as no RSS; the control node maps system memory the driver allocated) and a CUDA
process recorded on an H200 (tests/fixtures/real/cuda): there the GPU node's mappings
are 2 MiB rw-s and 64 KiB write-only (the size of the GPU's usermode register window,
where a doorbell write starts submitted work), the control node's are 4 KiB and 2 MiB
rw-s and resident, and the program's pinned host memory is no device mapping at all
but shared anonymous memory (see ``vmtop.model.cuda``).
"""

from __future__ import annotations

import re

# (pattern on the path, short name, what a mapping of it is). First match wins.
_DEVICES: tuple[tuple[re.Pattern[str], str, str], ...] = tuple(
    (re.compile(pattern), name, meaning)
    for pattern, name, meaning in (
        (
            r"^/dev/nvidiactl$",
            "NVIDIA control device",
            "host memory the driver allocated and pinned for the GPU to reach (the "
            "driver's own buffers; a program's pinned memory shows as /dev/zero)",
        ),
        (
            r"^/dev/nvidia-uvm-tools$",
            "NVIDIA Unified Memory tools",
            "the Unified Memory driver's interface for profilers and debuggers",
        ),
        (
            r"^/dev/nvidia-uvm$",
            "NVIDIA Unified Memory",
            "managed memory (cudaMallocManaged) that migrates between CPU and GPU on fault",
        ),
        (
            r"^/dev/nvidia(\d+)$",
            "NVIDIA GPU {0}",
            "the GPU's PCI BARs mapped in, no host memory: registers (64 KiB write-only: "
            "the usermode window, whose doorbell starts submitted work) or video memory",
        ),
        (r"^/dev/nvidia-modeset$", "NVIDIA mode-setting device", "display mode setting"),
        (
            r"^/dev/dri/renderD(\d+)$",
            "DRM render node {0}",
            "GPU buffer objects mapped for the CPU (Mesa, ROCm, Vulkan, VA-API)",
        ),
        (r"^/dev/dri/card(\d+)$", "DRM primary node {0}", "display and GPU buffer objects"),
        (
            r"^/dev/kfd$",
            "AMD KFD",
            "ROCm compute: doorbells, event pages and GPU-visible memory",
        ),
        (r"^/dev/fb(\d+)$", "framebuffer {0}", "the pixels of a display"),
        (r"^/dev/video(\d+)$", "V4L2 video device {0}", "capture or output buffers"),
        (r"^/dev/snd/", "ALSA sound device", "the audio ring buffer"),
        (r"^/dev/uio(\d+)$", "UIO device {0}", "registers of a device driven from user space"),
        (r"^/dev/vfio/", "VFIO", "memory of a device passed through to user space"),
        (r"^/dev/infiniband/", "RDMA device", "doorbells and queues of the network adapter"),
        (r"^/dev/accel/", "compute accelerator device", "buffers and doorbells"),
        (r"^/dev/mem$", "/dev/mem", "physical memory"),
    )
)

DEVICE_PREFIX = "/dev/"
DELETED = " (deleted)"
_UNKNOWN = "a device mapped into memory: what it holds is up to its driver"


def _match(path: str) -> tuple[str, str] | None:
    name = path[: -len(DELETED)] if path.endswith(DELETED) else path
    for pattern, short, meaning in _DEVICES:
        m = pattern.match(name)
        if m:
            return short.format(*m.groups()), meaning
    return None


def device_name(path: str) -> str:
    """A short name for the device at ``path`` ("NVIDIA GPU 0"): the region's object.
    An unknown device is named by its path."""
    found = _match(path)
    if found is None:
        return path[: -len(DELETED)] if path.endswith(DELETED) else path
    return found[0]


def device_meaning(path: str) -> str:
    """One line saying what a mapping of the device at ``path`` is: "name: meaning"."""
    found = _match(path)
    if found is None:
        return _UNKNOWN
    return f"{found[0]}: {found[1]}"


def is_gpu_device(path: str) -> bool:
    return path.startswith(("/dev/nvidia", "/dev/dri/", "/dev/kfd", "/dev/accel/"))
