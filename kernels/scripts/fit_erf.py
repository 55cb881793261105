"""Fits the piecewise erf polynomials of kernels/src/vecmath/erf_table.rs and prints the table.

For |x| in [i/2, (i+1)/2), i = 0..7: a degree-8 least-squares fit of erf in (|x| - centre) on 200
Chebyshev nodes, rounded to f32 and printed as the shortest literal that round-trips.

    python3 kernels/scripts/fit_erf.py    # numpy only
"""
import math

import numpy as np

WIDTH, INTERVALS, DEGREE, NODES = 0.5, 8, 8, 200


def literal(value):
    mantissa, exponent = np.format_float_scientific(value, unique=True, trim="-").split("e")
    mantissa = mantissa if "." in mantissa else mantissa + ".0"
    return mantissa if int(exponent) == 0 else f"{mantissa}e{int(exponent)}"


def main():
    erf = np.vectorize(math.erf)
    columns = []
    for i in range(INTERVALS):
        centre = (i + 0.5) * WIDTH
        nodes = centre + np.cos(np.pi * (np.arange(NODES) + 0.5) / NODES) * WIDTH / 2
        fit = np.polynomial.polynomial.polyfit(nodes - centre, erf(nodes), DEGREE)
        columns.append(fit.astype(np.float32))
    print("const COEFFICIENTS: [[f32; INTERVALS]; 9] = [")
    for degree in range(DEGREE + 1):
        print("    [")
        for column in columns:
            print(f"        {literal(column[degree])},")
        print("    ],")
    print("];")


if __name__ == "__main__":
    main()
