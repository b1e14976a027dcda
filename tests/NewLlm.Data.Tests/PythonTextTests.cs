using System.Text.Json;
using NewLlm.Data.Tests.Infrastructure;

namespace NewLlm.Data.Tests;

public class PythonTextTests
{
    [Theory]
    [InlineData("  a \t b\n\nc  ", "a b c")]
    [InlineData("\x1c x\x1fy\u00a0z\u3000w\u2028v\u0085u", "x y z w v u")]
    [InlineData("", "")]
    [InlineData(" \n\t ", "")]
    [InlineData("already normal", "already normal")]
    public void NormalizeWhitespaceMatchesPythonJoinSplit(string input, string expected) =>
        Assert.Equal(expected, PythonText.NormalizeWhitespace(input));

    [Fact]
    public void ToLowerHandlesPythonSpecialCasing()
    {
        Assert.Equal("i\u0307stanbul", PythonText.ToLower("\u0130STANBUL"));
        Assert.Equal("\u03bf\u03b4\u03bf\u03c2", PythonText.ToLower("\u039f\u0394\u039f\u03a3")); // final sigma
        Assert.Equal("\u03c3", PythonText.ToLower("\u03a3"));                                   // alone: not final
        Assert.Equal("hello world", PythonText.ToLower("HeLLo WORLD"));
    }

    [Fact]
    public void SplitDropsEmptyWords() =>
        Assert.Equal(["a", "b", "c"], PythonText.Split("\t a  b\u2003c \n"));

    /// <summary>Every character (BMP and astral): whitespace and lower casing agree with the installed Python.</summary>
    [SkippableFact]
    public void WhitespaceAndLowerCaseAgreeWithPythonForEveryCharacter()
    {
        string? python = Python.Any.Value;
        Skip.If(python is null, "No python3 interpreter; skipped.");
        const string script = """
            import json, sys
            cps = [c for c in range(0x10000) if not (0xD800 <= c <= 0xDFFF)]
            space = [c for c in cps if chr(c).isspace()]
            lower = {c: chr(c).lower() for c in cps if chr(c).lower() != chr(c)}
            words = ["\u039f\u0394\u039f\u03a3", "A\u03a3'", "\u03a3A", "x\u03a3\u0301", "\u0130i", "\u1e9e\u00df"]
            astral = {c: chr(c).lower() for c in range(0x10000, 0x110000) if chr(c).lower() != chr(c)}
            print(json.dumps({"space": space, "lower": {str(k): v for k, v in lower.items()}, "astral": {str(k): v for k, v in astral.items()}, "words": {w: w.lower() for w in words}}))
            """;
        using var json = JsonDocument.Parse(Python.Run(python!, script));
        var space = json.RootElement.GetProperty("space").EnumerateArray().Select(e => e.GetInt32()).ToHashSet();
        var lower = json.RootElement.GetProperty("lower").EnumerateObject().ToDictionary(p => int.Parse(p.Name), p => p.Value.GetString()!);
        var mismatches = new List<string>();
        for (int c = 0; c < 0x10000; c++)
        {
            if (c is >= 0xD800 and <= 0xDFFF)
            {
                continue;
            }

            string s = ((char)c).ToString();
            if (PythonText.IsWhiteSpace((char)c) != space.Contains(c))
            {
                mismatches.Add($"space U+{c:X4}");
            }

            string expected = lower.GetValueOrDefault(c, s);
            if (PythonText.ToLower(s) != expected)
            {
                mismatches.Add($"lower U+{c:X4}: python '{expected}' .NET '{PythonText.ToLower(s)}'");
            }
        }

        foreach (var astral in json.RootElement.GetProperty("astral").EnumerateObject())
        {
            string s = char.ConvertFromUtf32(int.Parse(astral.Name));
            string expected = astral.Value.GetString()!;
            if (PythonText.ToLower(s) != expected || PythonText.ToLower("A" + s + "B") != "a" + expected + "b")
            {
                mismatches.Add($"lower U+{int.Parse(astral.Name):X5}: python '{expected}' .NET '{PythonText.ToLower(s)}'");
            }
        }

        Assert.NotEmpty(json.RootElement.GetProperty("astral").EnumerateObject());
        foreach (var word in json.RootElement.GetProperty("words").EnumerateObject())
        {
            if (PythonText.ToLower(word.Name) != word.Value.GetString())
            {
                mismatches.Add($"word '{word.Name}'");
            }
        }

        Assert.True(mismatches.Count == 0, string.Join("\n", mismatches));
    }
}
