"""What the CUDA driver leaves in a process's map, told from the map alone.

Two CUDA processes recorded on an H200 (open kernel module 580.159.04; fixtures
tests/fixtures/real/cuda and pytorch, whose READY lines give the addresses the driver
returned) show:
- a device allocation (cuMemAlloc, a PyTorch tensor on the GPU) is an address at the
  start of a no-access anonymous reserve of the host map, among the driver's mappings:
  with unified addressing a device pointer is unique across host and GPUs, so the
  driver keeps host address space for it. The memory is on the GPU; the reserve costs
  the host nothing. The driver keeps more such reserves beside its device mappings.
- pinned host memory (cuMemHostAlloc, ``pin_memory()``) is shared anonymous memory,
  which the kernel shows as ``/dev/zero (deleted)`` (rw-s), not a device mapping.
- both map ``/dev/nvidia-uvm``, the device of CUDA's Unified Memory driver.

So, in a process that maps /dev/nvidia-uvm: shared anonymous memory is CUDA's pinned
host memory, and a no-access anonymous region bigger than a guard touching an NVIDIA
device mapping or such pinned memory is the CUDA driver's reserve. Reserves that touch
neither stay plain ``reserved`` (the map alone cannot tie them to the driver; the
recordings have some, such as 64 MiB at 1 TiB in both), and so does everything
in a process without /dev/nvidia-uvm: PostgreSQL's shared anonymous memory is its
own. A CUDA program that maps shared anonymous memory itself is told apart by nothing
in the map: the explanation says "most likely".
"""

from __future__ import annotations

UVM = "/dev/nvidia-uvm"
RESERVE = "CUDA driver"
PINNED = "CUDA pinned host memory"

_NVIDIA = "/dev/nvidia"
_SHARED_ZERO = "/dev/zero"


def is_pinned_shape(path: str, perms: str) -> bool:
    """Shared anonymous memory (MAP_SHARED | MAP_ANONYMOUS): what CUDA pins."""
    return path.startswith(_SHARED_ZERO) and perms[3:4] == "s"


def is_driver_mapping(path: str, perms: str) -> bool:
    """An NVIDIA device mapping, or (in a CUDA process) pinned host memory."""
    return path.startswith(_NVIDIA) or is_pinned_shape(path, perms)
