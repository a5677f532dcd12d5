"""MANO hand model: reading MANO files safely, the MANO layer, the 21 joints."""
