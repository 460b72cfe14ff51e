# generated from openapi.yaml by codegen.sh — do not edit
"""Contains endpoint functions for accessing the API"""
