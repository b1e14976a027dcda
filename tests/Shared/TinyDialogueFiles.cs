using System.Text;
using System.Text.Json;

namespace NewLlm.Tests;

/// <summary>Small dialogue files in the real sets' formats, with rows written here (never rows of the real sets).</summary>
internal static class TinyDialogueFiles
{
    private static readonly string[] Words = ["bread", "flour", "water", "yeast", "bake", "oven", "moon", "far", "story", "robot", "soup", "cook", "sunny", "cloud", "help", "homework", "question", "answer", "small", "simple"];

    /// <summary>A Dolly-15k folder laid out like the Hub repository: <c>databricks-dolly-15k.jsonl</c>.</summary>
    public static string Dolly(string root, int rows = 200)
    {
        string folder = Path.Combine(root, "dolly");
        Directory.CreateDirectory(folder);
        var random = new Random(1);
        WriteLines(Path.Combine(folder, "databricks-dolly-15k.jsonl"), rows, i => JsonSerializer.Serialize(new
        {
            instruction = Sentence(random, 6),
            context = i % 3 == 0 ? Sentence(random, 8) : string.Empty,
            response = Sentence(random, 10),
            category = "open_qa",
        }));
        return folder;
    }

    /// <summary>A JSON Lines file of chat messages (<c>{"messages": [{"role", "content"}, ...]}</c>) with other words than <see cref="Dolly"/>'s.</summary>
    public static string Chat(string root, int rows = 200)
    {
        string path = Path.Combine(root, "chat.jsonl");
        var random = new Random(2);
        WriteLines(path, rows, _ => JsonSerializer.Serialize(new
        {
            messages = new[]
            {
                new { role = "user", content = "please " + Sentence(random, 6) + " tonight" },
                new { role = "assistant", content = "certainly " + Sentence(random, 8) + " tomorrow" },
            },
        }));
        return path;
    }

    /// <summary>
    /// A CodeAlpaca-20k file (<c>code_alpaca_20k.json</c>: one pretty-printed JSON array of <c>instruction</c>, <c>input</c>,
    /// <c>output</c>) whose outputs are code with newlines and indentation; every third input is empty.
    /// </summary>
    public static string CodeAlpaca(string root, int rows = 200)
    {
        string folder = Path.Combine(root, "codealpaca");
        Directory.CreateDirectory(folder);
        var random = new Random(3);
        var items = Enumerable.Range(0, rows).Select(i => new
        {
            instruction = "write a function that " + Sentence(random, 5),
            input = i % 3 == 0 ? string.Empty : Sentence(random, 4),
            output = $"def f{i}(x):\n    if x:\n        return {i}\n    return x",
        });
        string path = Path.Combine(folder, "code_alpaca_20k.json");
        File.WriteAllText(path, JsonSerializer.Serialize(items, new JsonSerializerOptions { WriteIndented = true }), new UTF8Encoding(false));
        return path;
    }

    /// <summary>One MATH problem as the original release writes it (a pretty-printed object of one file).</summary>
    public static string MathProblem(string problem, int level, string type, string solution) => JsonSerializer.Serialize(
        new { problem, level = $"Level {level}", type, solution }, new JsonSerializerOptions { WriteIndented = true });

    /// <summary>
    /// The original MATH release's tree, <c>{root}/MATH/{train,test}/{type folder}/{n}.json</c>: <paramref name="perType"/>
    /// training and half as many test problems in each of two types, levels cycling 1 to 5.
    /// </summary>
    public static string MathTree(string root, int perType = 10)
    {
        var random = new Random(4);
        foreach (var (split, count) in new[] { ("train", perType), ("test", Math.Max(1, perType / 2)) })
        {
            foreach (var (folder, type) in new[] { ("algebra", "Algebra"), ("counting_and_probability", "Counting & Probability") })
            {
                string dir = Path.Combine(root, "MATH", split, folder);
                Directory.CreateDirectory(dir);
                for (int n = 0; n < count; n++)
                {
                    string problem = $"What is {n} plus {Sentence(random, 3)}?\n\nGive $x$.";
                    File.WriteAllText(Path.Combine(dir, $"{n * 7}.json"), MathProblem(problem, (n % 5) + 1, type, $"It is $\\boxed{{{n}}}$.\n"));
                }
            }
        }

        return Path.Combine(root, "MATH");
    }

    public static void WriteLines(string path, int rows, Func<int, string> row)
    {
        using var writer = new StreamWriter(path, append: false, new UTF8Encoding(false));
        for (int i = 0; i < rows; i++)
        {
            writer.WriteLine(row(i));
        }
    }

    private static string Sentence(Random random, int words) => string.Join(' ', Enumerable.Range(0, words).Select(_ => Words[random.Next(Words.Length)]));
}
