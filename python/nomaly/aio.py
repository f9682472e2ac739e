"""asyncio facade: the ModelPersistenceService methods as coroutines, run off the event loop thread with
asyncio.to_thread (the C++ work releases the GIL), so Pynomaly's code runs with only the import changed:

    service = nomaly.aio.ModelPersistenceService("store")
    await service.save_model(detector.id, format="onnx")
"""

import asyncio
from . import service as _sync


class ModelPersistenceService:
    """Same constructor and methods as nomaly.ModelPersistenceService, each a coroutine."""

    def __init__(self, storage_root):
        self.sync = _sync.ModelPersistenceService(storage_root)
        self.storage_root = self.sync.storage_root

    async def register(self, detector, detector_id=None, name=None, metadata=None):
        return await asyncio.to_thread(self.sync.register, detector, detector_id, name, metadata)

    async def save_model(self, detector_id, format="native", metadata=None, strict_onnx=False):
        return await asyncio.to_thread(self.sync.save_model, detector_id, format, metadata, strict_onnx)

    async def load_model(self, detector_id, format="native", threads=0, batch_size=0):
        return await asyncio.to_thread(self.sync.load_model, detector_id, format, threads, batch_size)

    async def export_model(self, detector_id, export_dir, triton=False):
        return await asyncio.to_thread(self.sync.export_model, detector_id, export_dir, triton)

    async def get_detector(self, detector_id):
        return await asyncio.to_thread(self.sync.get_detector, detector_id)

    async def list_detectors(self):
        return await asyncio.to_thread(self.sync.list_detectors)

    async def list_saved_models(self):
        return await asyncio.to_thread(self.sync.list_saved_models)

    async def delete_model(self, detector_id, unregister=False):
        return await asyncio.to_thread(self.sync.delete_model, detector_id, unregister)


__all__ = ["ModelPersistenceService"]
