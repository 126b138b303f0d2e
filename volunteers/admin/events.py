"""events admin"""
