"""hours admin"""
