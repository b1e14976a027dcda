namespace NewLlm.Training;

/// <summary>
/// Perplexity, exp(loss), as people read it: <c>116.6</c> below a million, <c>2.7e+347</c> above. It is computed from the
/// loss's base-10 exponent, so it stays readable where exp overflows a double (a loss above about 709.78).
/// </summary>
internal static class Perplexity
{
    private const double Plain = 1e6;

    /// <summary>exp(<paramref name="loss"/>) with one decimal, in scientific form from a million on; "n/a" for NaN.</summary>
    public static string Format(double loss)
    {
        if (double.IsNaN(loss))
        {
            return "n/a";
        }

        if (double.IsPositiveInfinity(loss))
        {
            return "inf";
        }

        double ppl = Math.Exp(loss);
        if (ppl < Plain)
        {
            return ppl.ToString("F1", CultureInfo.InvariantCulture);
        }

        double log10 = loss / Math.Log(10);
        double exponent = Math.Floor(log10);
        double mantissa = Math.Round(Math.Pow(10, log10 - exponent), 1);
        if (mantissa >= 10)
        {
            (mantissa, exponent) = (mantissa / 10, exponent + 1);
        }

        return string.Create(CultureInfo.InvariantCulture, $"{mantissa:F1}e+{exponent:F0}");
    }
}
