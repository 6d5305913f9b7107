"""genlab.eval"""
