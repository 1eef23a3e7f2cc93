"""Record types shared by every stage of the pipeline."""

from flowradar.model.flow import DnsAnswer, FlowRecord, L7Facts
from flowradar.model.schema import Column, columns_of

__all__ = ["Column", "DnsAnswer", "FlowRecord", "L7Facts", "columns_of"]
