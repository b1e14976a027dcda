using System.IO.Compression;
using System.Text;
using System.Text.Json;

namespace NewLlm.Data.Tests.Infrastructure;

/// <summary>Small synthetic HH-RLHF files (never rows of the real dataset).</summary>
internal static class Fixtures
{
    public static readonly (string Chosen, string Rejected)[] Dialogues =
    [
        ("\n\nHuman: What colour is the sky?\n\nAssistant: The sky is blue on a clear day.", "\n\nHuman: What colour is the sky?\n\nAssistant: Green."),
        ("\n\nHuman: Name a fruit.\n\nAssistant: An apple.\n\nHuman: Another?\n\nAssistant: A pear.", "\n\nHuman: Name a fruit.\n\nAssistant: No."),
        ("\n\nHuman:   Tabs\tand  spaces\n\n\nAssistant: are   collapsed.", "\n\nHuman: x\n\nAssistant: y"),
    ];

    public static string JsonLine(string chosen, string rejected) =>
        JsonSerializer.Serialize(new Dictionary<string, string> { ["chosen"] = chosen, ["rejected"] = rejected });

    public static byte[] JsonLines(IEnumerable<(string Chosen, string Rejected)> rows) =>
        Encoding.UTF8.GetBytes(string.Concat(rows.Select(r => JsonLine(r.Chosen, r.Rejected) + "\n")));

    public static byte[] Gzip(byte[] data)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest))
        {
            gzip.Write(data);
        }

        return output.ToArray();
    }

    /// <summary>Writes <c>{root}/{subset}/{split}.jsonl.gz</c>.</summary>
    public static string WriteSubset(string root, string subsetDirectory, string split, byte[] content, bool gzip = true)
    {
        string dir = Path.Combine(root, subsetDirectory);
        Directory.CreateDirectory(dir);
        string path = Path.Combine(dir, split + (gzip ? ".jsonl.gz" : ".jsonl"));
        File.WriteAllBytes(path, gzip ? Gzip(content) : content);
        return path;
    }
}
