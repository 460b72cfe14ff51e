# generated from openapi.yaml by codegen.sh — do not edit
"""Contains methods for accessing the API"""
