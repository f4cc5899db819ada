"""Reading NVlabs' network pickles without running code from them.

A pickle names Python callables ("globals") that the standard unpickler imports and calls, so loading one can
run anything; an NVlabs snapshot also carries the source code of its network classes, which NVlabs'
`torch_utils.persistence` executes. This unpickler resolves only the globals those files need, each to a
stand-in that builds plain data, and refuses every other global in one line naming it:
- `torch_utils.persistence._reconstruct_persistent_obj`: a `PersistentObject` record (class name and state);
  the embedded source is dropped unread;
- `torch.storage._load_from_bytes`: the embedded `torch.save` bytes, read by torch's weights-only loader;
- `torch._utils._rebuild_tensor_v2` and `_rebuild_parameter`: a plain tensor viewing that storage;
- `collections.OrderedDict`, `dnnlib.util.EasyDict`: dicts; `numpy.dtype` and numpy's `scalar`: numbers.
"""
import io
import pickle
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from latentcat.errors import UserError

PERSISTENT = ("torch_utils.persistence", "_reconstruct_persistent_obj")
NUMPY_SCALAR_MODULES = ("numpy._core.multiarray", "numpy.core.multiarray")  # numpy 2, then numpy 1
NUMERIC_DTYPES = {f"{kind}{size}" for kind, sizes in (("f", (2, 4, 8)), ("i", (1, 2, 4, 8)), ("u", (1, 2, 4, 8)))
                  for size in sizes} | {"b1"}


@dataclass(frozen=True)
class PersistentObject:
    """What NVlabs pickled for one network object: its class name and its `__dict__` (parameters, buffers,
    submodules, attributes, `_init_kwargs`). Nothing of its class is ever rebuilt."""

    class_name: str
    state: dict

    def modules(self) -> dict:
        return self.state.get("_modules") or {}

    def tensors(self, prefix: str = "") -> dict[str, torch.Tensor]:
        """Every parameter and buffer below this object, by dotted name, as `state_dict` would list them."""
        out = {prefix + k: v for group in ("_parameters", "_buffers")
               for k, v in (self.state.get(group) or {}).items() if v is not None}
        for name, child in self.modules().items():
            if isinstance(child, PersistentObject):
                out.update(child.tensors(f"{prefix}{name}."))
        return out


class RefusedGlobal(pickle.UnpicklingError):
    pass


class EasyDict(dict):
    """dnnlib.util.EasyDict's contents, as a plain dict (attribute state is refused)."""

    def __setstate__(self, state):
        if state:
            raise pickle.UnpicklingError("an EasyDict with attribute state")


def reconstruct_persistent(meta) -> PersistentObject:
    if not (isinstance(meta, dict) and meta.get("type") == "class" and isinstance(meta.get("class_name"), str)
            and isinstance(meta.get("state"), dict)):
        raise pickle.UnpicklingError("a persistent object without a class name and state")
    return PersistentObject(meta["class_name"], meta["state"])


def load_storage(data) -> torch.storage.TypedStorage:
    if not isinstance(data, bytes):
        raise pickle.UnpicklingError("tensor data that is not bytes")
    storage = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    if not isinstance(storage, torch.storage.TypedStorage):
        raise pickle.UnpicklingError(f"tensor data holding a {type(storage).__name__}, not a storage")
    return storage


def rebuild_tensor(storage, offset, size, stride, requires_grad=False, hooks=None, metadata=None) -> torch.Tensor:
    if not isinstance(storage, torch.storage.TypedStorage) or hooks or metadata:
        raise pickle.UnpicklingError("a tensor with hooks, metadata or no storage")
    tensor = torch._utils._rebuild_tensor(storage, int(offset), tuple(map(int, size)), tuple(map(int, stride)))
    if tensor.numel() * tensor.element_size() > tensor.untyped_storage().nbytes():
        raise pickle.UnpicklingError(f"a {tuple(tensor.shape)} tensor claiming more values than it stores")
    return tensor


def rebuild_parameter(data, requires_grad=False, hooks=None) -> torch.Tensor:
    if not isinstance(data, torch.Tensor) or hooks:
        raise pickle.UnpicklingError("a parameter with hooks or without a tensor")
    return data


def numpy_dtype(name, align=False, copy=True) -> np.dtype:
    if name not in NUMERIC_DTYPES:
        raise pickle.UnpicklingError(f"numpy dtype {name!r}")
    return np.dtype(name, copy=True)  # a fresh object: the BUILD that follows must not touch numpy's own


def numpy_scalar(dtype, data):
    if not (isinstance(dtype, np.dtype) and dtype.kind in "biuf" and isinstance(data, bytes)
            and len(data) == dtype.itemsize):
        raise pickle.UnpicklingError("a numpy scalar that is not a plain number")
    return np.frombuffer(data, dtype=dtype)[0].item()


STAND_INS = {
    PERSISTENT: reconstruct_persistent,
    ("torch.storage", "_load_from_bytes"): load_storage,
    ("torch._utils", "_rebuild_tensor_v2"): rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): rebuild_parameter,
    ("collections", "OrderedDict"): OrderedDict,
    ("dnnlib.util", "EasyDict"): EasyDict,
    ("numpy", "dtype"): numpy_dtype,
    **{(module, "scalar"): numpy_scalar for module in NUMPY_SCALAR_MODULES},
}


class AllowListUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) in STAND_INS:
            return STAND_INS[(module, name)]
        if module.startswith("dnnlib.tflib"):
            raise RefusedGlobal("a TensorFlow StyleGAN pickle (dnnlib.tflib): latentcat reads PyTorch ones only "
                                "(NVlabs' stylegan2-ada-pytorch converts it with legacy.py)")
        raise RefusedGlobal(f"refused to load {module}.{name}: latentcat reads network pickles through an "
                            "allow-list and never runs code from a file")

    def persistent_load(self, pid):
        raise RefusedGlobal("refused a persistent id: not an NVlabs network pickle")


def load_pickle(path):
    """The data in an NVlabs-style pickle, with network objects as `PersistentObject`s; a one-line UserError for
    anything else (a refused global, a corrupt file)."""
    path = Path(path)
    if not path.is_file():
        raise UserError("no such generator file", path)
    try:
        with open(path, "rb") as f:
            return AllowListUnpickler(f).load()
    except RefusedGlobal as e:
        raise UserError(str(e), path) from None
    except Exception as e:  # any parse failure of a user file is that file's problem
        detail = str(e).splitlines()[0][:200] if str(e) else type(e).__name__
        raise UserError(f"not a readable network pickle: {detail}", path) from None
