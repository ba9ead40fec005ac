"""Stores (门店): the places of a chain where staff work and customers are served."""
