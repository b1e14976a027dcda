namespace NewLlm.Data;

/// <summary>
/// Text operations that behave like Python's <c>str.split()</c> (no arguments), <c>" ".join(text.split())</c>
/// and <c>str.lower()</c>, so that normalisation and the word-level vocabulary equal the reference pipeline's.
/// </summary>
/// <remarks>
/// Whitespace is Python's: <c>\t \n \v \f \r</c>, <c>\x1c</c>-<c>\x1f</c>, space, <c>\x85</c>, <c>\xa0</c>, U+1680,
/// U+2000-U+200A, U+2028, U+2029, U+202F, U+205F and U+3000 (.NET's <see cref="char.IsWhiteSpace(char)"/> lacks
/// <c>\x1c</c>-<c>\x1f</c>). Lower casing is culture-invariant simple case mapping plus the two places where Python
/// applies full (special) casing: U+0130 (capital I with dot above) becomes <c>"i\u0307"</c>, and a capital sigma
/// at the end of a word (preceded by a cased letter, not followed by one) becomes final sigma U+03C2.
/// </remarks>
public static class PythonText
{
    /// <summary>Whether <paramref name="c"/> is whitespace for Python's <c>str.split()</c>.</summary>
    /// <param name="c">The character.</param>
    /// <returns><see langword="true"/> for Python whitespace.</returns>
    public static bool IsWhiteSpace(char c) => c switch
    {
        >= '\t' and <= '\r' => true,
        >= '\x1c' and <= ' ' => true,
        '\x85' or '\xa0' or '\u1680' => true,
        >= '\u2000' and <= '\u200a' => true,
        '\u2028' or '\u2029' or '\u202f' or '\u205f' or '\u3000' => true,
        _ => false,
    };

    /// <summary>Python's <c>" ".join(text.split())</c>: runs of whitespace collapsed to one space, ends trimmed.</summary>
    /// <param name="text">The text.</param>
    /// <returns>The normalised text.</returns>
    public static string NormalizeWhitespace(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var builder = new StringBuilder(text.Length);
        foreach (var range in SplitRanges(text))
        {
            (builder.Length > 0 ? builder.Append(' ') : builder).Append(text.AsSpan(range));
        }

        return builder.Length == text.Length && builder.Equals(text.AsSpan()) ? text : builder.ToString();
    }

    /// <summary>Python's <c>str.split()</c>: the words between runs of whitespace.</summary>
    /// <param name="text">The text.</param>
    /// <returns>The words, in order.</returns>
    public static List<string> Split(string text) => [.. SplitRanges(text).Select(range => text[range])];

    /// <summary>The character ranges of the words of <c>str.split()</c>.</summary>
    /// <param name="text">The text.</param>
    /// <returns>One range per word, in order.</returns>
    public static IEnumerable<Range> SplitRanges(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        int i = 0;
        while (i < text.Length)
        {
            while (i < text.Length && IsWhiteSpace(text[i]))
            {
                i++;
            }

            if (i == text.Length)
            {
                yield break;
            }

            int start = i;
            while (i < text.Length && !IsWhiteSpace(text[i]))
            {
                i++;
            }

            yield return new Range(start, i);
        }
    }

    /// <summary>Python's <c>str.lower()</c> (see the remarks on <see cref="PythonText"/> for the special cases).</summary>
    /// <param name="text">The text.</param>
    /// <returns>The lower-cased text.</returns>
    public static string ToLower(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string lower = text.ToLowerInvariant();
        if (text.AsSpan().IndexOfAny('\u0130', '\u03a3') < 0)
        {
            return lower;
        }

        // ToLowerInvariant never changes the length (simple case mapping, UTF-16 for UTF-16), so indices agree.
        var builder = new StringBuilder(text.Length + 4);
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (c == '\u0130')
            {
                builder.Append("i\u0307");
            }
            else if (c == '\u03a3' && IsFinalSigma(text, i))
            {
                builder.Append('\u03c2');
            }
            else
            {
                builder.Append(lower[i]);
            }
        }

        return builder.ToString();
    }

    private static bool IsFinalSigma(string text, int index)
    {
        // Unicode Final_Sigma: preceded by a cased letter (skipping case-ignorable characters) and not followed by one.
        int j = index - 1;
        while (j >= 0 && IsCaseIgnorable(text[j]))
        {
            j--;
        }

        if (j < 0 || !IsCased(text[j]))
        {
            return false;
        }

        j = index + 1;
        while (j < text.Length && IsCaseIgnorable(text[j]))
        {
            j++;
        }

        return j == text.Length || !IsCased(text[j]);
    }

    private static bool IsCased(char c) => char.IsUpper(c) || char.IsLower(c) ||
        CharUnicodeInfo.GetUnicodeCategory(c) == UnicodeCategory.TitlecaseLetter;

    private static bool IsCaseIgnorable(char c) => c is '\'' or '.' or ':' or '^' or '`' or '\u00b7' or '\u2019' ||
        CharUnicodeInfo.GetUnicodeCategory(c) is UnicodeCategory.NonSpacingMark or UnicodeCategory.EnclosingMark
            or UnicodeCategory.Format or UnicodeCategory.ModifierLetter or UnicodeCategory.ModifierSymbol;
}
