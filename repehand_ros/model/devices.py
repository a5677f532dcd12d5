"""Which torch device a name means: one set of rules for every command that runs the network."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

DEVICE_CHOICES: tuple[str, ...] = ("auto", "cpu", "cuda")
"""The device names a command offers; `resolve_device` also takes "cuda:N"."""


class DeviceError(RuntimeError):
    """A device name that is not one, or a device that is not here (no CUDA, no such GPU)."""


def check_device_name(name: object) -> str:
    """`name` when it names a device ("auto", "cpu", "cuda" or "cuda:N"), else DeviceError.

    Only the spelling is checked: whether the device is here is `resolve_device`'s question.
    """
    if isinstance(name, str) and (
        name in DEVICE_CHOICES or (name.startswith("cuda:") and name[5:].isdigit())
    ):
        return name
    raise DeviceError(f"device must be auto, cpu, cuda or cuda:N, got {name!r}")


def resolve_device(name: str = "auto", local_rank: int | None = None) -> torch.device:
    """The torch device `name` means here, or DeviceError.

    - "auto": CUDA when PyTorch sees a GPU, else the CPU.
    - "cpu": the CPU.
    - "cuda": a GPU, DeviceError when PyTorch sees none: the GPU of `local_rank`
      (cuda:LOCAL_RANK, one GPU per process under torchrun), or with no rank
      the current CUDA device (torch.device("cuda")).
    - "cuda:N": GPU N, which must exist.
    """
    import torch  # here: the names above serve commands that never load PyTorch

    name = check_device_name(name)
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cpu":
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise DeviceError(f"device {name!r} was asked for, but PyTorch sees no CUDA GPU here")
    if name == "cuda":
        if local_rank is None:
            return torch.device("cuda")
        index, what = local_rank, f"local rank {local_rank}"
    else:
        index, what = int(name[5:]), f"device {name!r}"
    count = torch.cuda.device_count()
    if not 0 <= index < count:
        raise DeviceError(f"{what}: there are {count} CUDA devices here (0 to {count - 1})")
    return torch.device("cuda", index)


_CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75
_CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76


def cuda_device_identity(index: int = 0) -> str:
    """GPU `index`'s name and compute capability, e.g. "NVIDIA H200 sm_90": what a TensorRT
    engine is built for, and all that tells one GPU model from another.

    From PyTorch when it sees the GPU, otherwise from the CUDA driver itself
    (libcuda: a PyTorch without CUDA beside ONNX Runtime's GPU build); DeviceError
    when neither can say.
    """
    import torch

    if torch.cuda.is_available():
        count = torch.cuda.device_count()
        if not 0 <= index < count:
            raise DeviceError(f"GPU {index}: there are {count} CUDA devices here")
        major, minor = torch.cuda.get_device_capability(index)
        return f"{torch.cuda.get_device_name(index)} sm_{major}{minor}"
    return _driver_device_identity(index)


def _driver_device_identity(index: int) -> str:
    """`cuda_device_identity` from the CUDA driver API (cuInit, cuDeviceGet, cuDeviceGetName,
    cuDeviceGetAttribute), through ctypes."""
    import ctypes

    try:
        driver = ctypes.CDLL("libcuda.so.1")
    except OSError as error:
        raise DeviceError("no CUDA driver here (libcuda.so.1): cannot tell which GPU") from error
    device = ctypes.c_int()
    name = ctypes.create_string_buffer(256)
    major, minor = ctypes.c_int(), ctypes.c_int()
    calls = (
        ("cuInit", (0,)),
        ("cuDeviceGet", (ctypes.byref(device), index)),
        ("cuDeviceGetName", (name, len(name), device)),
        (
            "cuDeviceGetAttribute",
            (ctypes.byref(major), _CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, device),
        ),
        (
            "cuDeviceGetAttribute",
            (ctypes.byref(minor), _CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, device),
        ),
    )
    for function, arguments in calls:
        status = getattr(driver, function)(*arguments)
        if status != 0:
            raise DeviceError(
                f"the CUDA driver's {function} failed (error {status}) for GPU {index}"
            )
    return f"{name.value.decode(errors='replace')} sm_{major.value}{minor.value}"


__all__ = [
    "DEVICE_CHOICES",
    "DeviceError",
    "check_device_name",
    "cuda_device_identity",
    "resolve_device",
]
