using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using NewLlm.Data.Tests.Infrastructure;
using NewLlm.Tests;

namespace NewLlm.Data.Tests;

/// <summary>
/// CodeAlpaca-20k on files the tests write (made-up rows): the JSON array read streaming, element by element with its
/// index and byte offset, its text with the code's whitespace kept, Dolly's 90/10 split, the Hub, and the bad arrays.
/// </summary>
public sealed class CodeAlpacaTests
{
    private const string Good = "{\"instruction\": \"a\", \"input\": \"\", \"output\": \"b\"}";

    [Fact]
    public async Task TheArrayIsSplitLikeDollyAndGpt2KeepsTheCodesIndentation()
    {
        using var temp = new TempDirectory();
        string file = TinyDialogueFiles.CodeAlpaca(temp.Path, 30);
        var fromFolder = await DialogueSource.FromDirectoryAsync(DialogueDataset.CodeAlpaca, Path.GetDirectoryName(file)!);
        var fromFile = await DialogueSource.FromDirectoryAsync(DialogueDataset.CodeAlpaca, file);
        Assert.Equal([Path.GetFullPath(file)], fromFolder.TrainFiles);
        Assert.Equal(fromFolder.TrainFiles, fromFile.TrainFiles);
        Assert.Empty(fromFile.TestFiles);

        // The text of a row: labels, the input only when it is not blank, the code as it is.
        var rows = await SourceFiles.ReadAsync(file, CodeAlpacaFormat.Instance.Fields, RowLimit.Default, default).ToListAsync();
        Assert.Equal(30, rows.Count);
        string row0 = CodeAlpacaFormat.Instance.Read(rows[0])!.Value.Text;
        Assert.Matches("^Instruction: write a function that [a-z ]+\nResponse: def f0\\(x\\):\n    if x:\n        return 0\n    return x$", row0);
        Assert.Matches("^Instruction: .+\nInput: [a-z ]+\nResponse: def f1", CodeAlpacaFormat.Instance.Read(rows[1])!.Value.Text);

        // Dolly's split: datasets' train_test_split(test_size=0.1, seed=42) of the array's elements.
        using var corpus = await DialogueCorpus.LoadAsync(fromFile, temp.Combine("cache"), new DialogueCorpusOptions { MaxSequenceLength = 256 }, Gpt2DialogueTokenizer.Create());
        var (trainOrder, testOrder) = DatasetSplit.TrainTestSplit(30);
        Assert.Equal((27, 3), (corpus.Train.Count, corpus.Test.Count));
        string Decoded(TokenizedCorpus split, int i) => corpus.Tokenizer.Decode(split.GetTokens(i).ToArray());
        Assert.Equal(CodeAlpacaFormat.Instance.Read(rows[trainOrder.Order().First()])!.Value.Text, Decoded(corpus.Train, 0));
        Assert.Equal(CodeAlpacaFormat.Instance.Read(rows[testOrder.Order().Last()])!.Value.Text, Decoded(corpus.Test, 2));
        Assert.True(DialogueDataset.CodeAlpaca.KeepsWhitespace);
        Assert.Equal((200, "new_llm_codealpaca", false), (DialogueDataset.CodeAlpaca.DefaultEpochs, DialogueDataset.CodeAlpaca.ModelName, DialogueDataset.CodeAlpaca.HasTestSplit));
    }

    [Fact]
    public async Task ElementsAreLocatedByIndexAndByteOffsetAcrossManyBuffers()
    {
        using var temp = new TempDirectory();
        string file = TinyDialogueFiles.CodeAlpaca(temp.Path, 3000); // about 400 KB: many reads of the 64 KiB buffer
        byte[] bytes = File.ReadAllBytes(file);
        Assert.True(bytes.Length > 300_000);
        Assert.Equal(3000, await SourceFiles.CountRowsAsync(file, RowLimit.Default, default));
        var rows = await JsonArraySource.ReadIndexedAsync(file, i => i % 1000 == 999, RowLimit.Default, default).ToListAsync();
        Assert.Equal([999L, 1999, 2999], rows.Select(r => r.Index));
        foreach (var (index, row) in rows)
        {
            Assert.Equal(index, row.Location.Row);
            Assert.Equal((byte)'{', bytes[row.Location.Offset]);
            Assert.Equal($"'{file}' element {index} at byte {row.Location.Offset}", row.Location.ToString());
            Assert.StartsWith($"def f{index}(x)", row.Fields["output"]!.GetValue<string>(), StringComparison.Ordinal);
        }

        // A byte order mark is allowed before the array.
        File.WriteAllBytes(file, [0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes($"[{Good}]")]);
        Assert.Equal("b", (await JsonArraySource.ReadIndexedAsync(file, null, RowLimit.Default, default).SingleAsync()).Row.Fields["output"]!.GetValue<string>());

        // An element larger than the buffer is read whole; one over the row limit is refused while it is read.
        string big = $"[{Good}, {{\"instruction\": \"big\", \"input\": \"\", \"output\": \"{new string('x', 200_000)}\"}}]";
        File.WriteAllText(file, big);
        Assert.Equal(200_000, (await JsonArraySource.ReadIndexedAsync(file, null, RowLimit.Default, default).ToListAsync())[1].Row.Fields["output"]!.GetValue<string>().Length);
        var e = await Assert.ThrowsAsync<InvalidDataException>(async () => await DialogueCorpus.LoadAsync(
            await DialogueSource.FromDirectoryAsync(DialogueDataset.CodeAlpaca, file), temp.Combine("cache"), new DialogueCorpusOptions { MaxRowBytes = 100_000 }));
        Assert.StartsWith($"'{file}' element 1 at byte {big.IndexOf("{\"instruction\": \"big", StringComparison.Ordinal)}: the row is longer than 100000 bytes", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(Good, "starts with a JSON object, not a JSON array: this set's file is one JSON array of objects ([{…}, {…}]), as CodeAlpaca's code_alpaca_20k.json is. A file of one JSON object a line (JSON Lines) is read as DialogueDataset.JsonLines.")]
    [InlineData("5", "is not a JSON array (its top level is Number at byte 0)")]
    [InlineData("[" + Good + ", {\"instruction\": \"c\", \"output\": }]", "element 1 at byte 51: malformed JSON: '}' is an invalid start of a value.")]
    [InlineData("[" + Good + ", 5]", "element 1 at byte 51: expected a JSON object, found a number.")]
    [InlineData("[" + Good + ",\n {\"input\": \"\", \"output\": \"x\"}]", "element 1 at byte 52: the row has no 'instruction' string")]
    [InlineData("[" + Good + ", {\"instruction\": \"i\", \"output\": 3}]", "element 1 at byte 51: 'output' is a number, not a string.")]
    [InlineData("[" + Good + "] x", "has data after its JSON array, at byte 51")]
    [InlineData("[" + Good + ", {\"instr", "element 1 at byte 51: malformed JSON: the JSON ends inside an element (an object, list or string is not closed; the file may be truncated).")]
    [InlineData("[" + Good + ", {\"instruction\": \"c\"", "element 1 at byte 51: malformed JSON: the JSON ends inside an element")]
    [InlineData("[" + Good + ",", "element 1 at byte 49: malformed JSON: the JSON ends inside an element")]
    [InlineData("  [ ]  ", "is an empty JSON array; it holds no rows.")]
    [InlineData("", "is empty (0 bytes)")]
    [InlineData(" \n ", "is not a JSON array (malformed JSON: there is no JSON value, only whitespace); this set's file is one JSON array of objects.")]
    public async Task AMalformedArrayIsRefusedNamingTheFileElementAndByte(string content, string message)
    {
        using var temp = new TempDirectory();
        string file = temp.Combine("code_alpaca_20k.json");
        File.WriteAllText(file, content);
        var source = await DialogueSource.FromDirectoryAsync(DialogueDataset.CodeAlpaca, temp.Path);
        var e = await Assert.ThrowsAsync<InvalidDataException>(() => DialogueCorpus.LoadAsync(source, temp.Combine("cache")));
        Assert.StartsWith($"'{file}' {message}", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("LineNumber", e.Message, StringComparison.Ordinal); // the reader's position text is not passed on
        Assert.DoesNotContain("BytePositionInLine", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheNamesAndTheHubFileAreCodeAlpacas()
    {
        foreach (string name in new[] { "codealpaca", "CodeAlpaca-20k", "code_alpaca", "sahil2801/CodeAlpaca-20k" })
        {
            Assert.Same(DialogueDataset.CodeAlpaca, DialogueDataset.Parse(name));
        }

        Assert.Contains("codealpaca", DialogueDataset.Names);
        using var temp = new TempDirectory();
        byte[] array = File.ReadAllBytes(TinyDialogueFiles.CodeAlpaca(temp.Path, 20));
        using var server = new LocalHttpServer((path, _) => path == "/datasets/sahil2801/CodeAlpaca-20k/resolve/main/code_alpaca_20k.json"
            ? new ServerResponse(200, array, new Dictionary<string, string> { ["X-Linked-Etag"] = $"\"{Convert.ToHexStringLower(SHA256.HashData(array))}\"", ["X-Linked-Size"] = $"{array.Length}" })
            : new ServerResponse(404, []));
        var source = await DialogueSource.FromHubAsync(DialogueDataset.CodeAlpaca, server.HubOptions(temp, maxRetries: 0));
        Assert.Equal(array, File.ReadAllBytes(source.TrainFiles[0]));
        using var corpus = await DialogueCorpus.LoadAsync(source, temp.Combine("tokens"));
        Assert.Equal((18, 2), (corpus.Train.Count, corpus.Test.Count));
    }
}
