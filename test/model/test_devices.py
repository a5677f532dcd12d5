"""One set of device rules for every command: auto, cpu, cuda (the local rank's GPU), cuda:N."""

from __future__ import annotations

import pytest
import torch

from repehand_ros.model import devices
from repehand_ros.model.devices import DeviceError, check_device_name, resolve_device


@pytest.fixture
def no_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


@pytest.fixture
def two_gpus(monkeypatch):
    """PyTorch sees two GPUs (only the names are resolved: nothing runs on them)."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)


def test_auto_is_the_cpu_without_cuda(no_cuda):
    assert resolve_device("auto") == torch.device("cpu")
    assert resolve_device("auto", local_rank=1) == torch.device("cpu")
    assert resolve_device() == torch.device("cpu")


def test_auto_is_cuda_when_pytorch_sees_a_gpu(two_gpus):
    assert resolve_device("auto") == torch.device("cuda")
    assert resolve_device("auto", local_rank=1) == torch.device("cuda", 1)


def test_cuda_is_the_local_ranks_gpu(two_gpus):
    assert resolve_device("cuda") == torch.device("cuda")
    assert resolve_device("cuda", local_rank=0) == torch.device("cuda", 0)
    assert resolve_device("cuda", local_rank=1) == torch.device("cuda", 1)
    with pytest.raises(DeviceError, match="local rank 2: there are 2 CUDA devices"):
        resolve_device("cuda", local_rank=2)


def test_cuda_n_must_exist(two_gpus):
    assert resolve_device("cuda:1") == torch.device("cuda", 1)
    with pytest.raises(DeviceError, match="'cuda:2': there are 2 CUDA devices"):
        resolve_device("cuda:2")


def test_cuda_without_cuda_is_one_clear_error(no_cuda):
    for name in ("cuda", "cuda:0"):
        with pytest.raises(DeviceError, match="PyTorch sees no CUDA GPU here"):
            resolve_device(name)
    assert resolve_device("cpu") == torch.device("cpu")


@pytest.mark.parametrize("name", ["tpu", "gpu", "cuda:", "cuda:x", "CPU", "", None, 0])
def test_names_that_are_not_devices(name):
    with pytest.raises(DeviceError, match="device must be auto, cpu, cuda or cuda:N"):
        check_device_name(name)
    with pytest.raises(DeviceError, match="device must be auto, cpu, cuda or cuda:N"):
        resolve_device(name)


def test_the_choices_commands_offer_are_names():
    assert devices.DEVICE_CHOICES == ("auto", "cpu", "cuda")
    assert all(check_device_name(name) == name for name in (*devices.DEVICE_CHOICES, "cuda:3"))
    assert issubclass(DeviceError, RuntimeError)
