"""volunteers admin"""
