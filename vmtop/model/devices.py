"""What a mapping of a character device is, from its path: the driver's meaning.

Only devices whose mappings are well known are named; any other ``/dev/…`` mapping is
still a ``device`` region, described as such. Pure: the path the kernel printed is
the only input (the device file itself is never opened: it belongs to the target's
mount namespace, and opening a GPU device has side effects).
"""

from __future__ import annotations

import re

# (pattern on the path, what a mapping of it is). First match wins.
_MEANINGS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), meaning)
    for pattern, meaning in (
        (
            r"^/dev/nvidiactl$",
            "NVIDIA control device: the driver's per-process bookkeeping (RM client), "
            "pinned host memory the GPU can reach",
        ),
        (
            r"^/dev/nvidia-uvm-tools$",
            "NVIDIA Unified Memory tools interface (profilers, debuggers)",
        ),
        (
            r"^/dev/nvidia-uvm$",
            "NVIDIA Unified Memory: managed memory (cudaMallocManaged) that migrates "
            "between CPU and GPU on fault",
        ),
        (
            r"^/dev/nvidia(\d+)$",
            "NVIDIA GPU {0}: GPU memory or registers seen through the PCI BAR, or host "
            "memory pinned for the GPU (cudaHostAlloc)",
        ),
        (r"^/dev/nvidia-modeset$", "NVIDIA mode-setting (display) device"),
        (
            r"^/dev/dri/renderD(\d+)$",
            "DRM render node {0}: GPU buffer objects mapped for the CPU (Mesa, ROCm, "
            "Vulkan, VA-API)",
        ),
        (r"^/dev/dri/card(\d+)$", "DRM primary node {0}: display and GPU buffer objects"),
        (
            r"^/dev/kfd$",
            "AMD KFD (ROCm compute): doorbells, event pages and GPU-visible memory",
        ),
        (r"^/dev/fb(\d+)$", "framebuffer {0}: the pixels of a display"),
        (r"^/dev/video(\d+)$", "V4L2 video device {0}: capture or output buffers"),
        (r"^/dev/snd/", "ALSA sound device: the audio ring buffer"),
        (r"^/dev/uio(\d+)$", "UIO device {0}: registers of a device driven from user space"),
        (r"^/dev/vfio/", "VFIO: memory of a device passed through to user space"),
        (r"^/dev/infiniband/", "RDMA device: doorbells and queues of the network adapter"),
        (r"^/dev/accel/", "compute accelerator device: buffers and doorbells"),
        (r"^/dev/mem$", "physical memory (/dev/mem)"),
    )
)

DEVICE_PREFIX = "/dev/"
DELETED = " (deleted)"


def device_meaning(path: str) -> str:
    """One line saying what a mapping of the device at ``path`` is."""
    name = path[: -len(DELETED)] if path.endswith(DELETED) else path
    for pattern, meaning in _MEANINGS:
        m = pattern.match(name)
        if m:
            return meaning.format(*m.groups())
    return "a device mapped into memory: what it holds is up to its driver"


def is_gpu_device(path: str) -> bool:
    return path.startswith(("/dev/nvidia", "/dev/dri/", "/dev/kfd", "/dev/accel/"))
