"""genlab.viz"""
