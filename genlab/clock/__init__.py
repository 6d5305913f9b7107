"""genlab.clock"""
