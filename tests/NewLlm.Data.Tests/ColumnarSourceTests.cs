using Apache.Arrow;
using Apache.Arrow.Ipc;
using Apache.Arrow.Types;
using NewLlm.Tests;
using Parquet;
using Parquet.Serialization;

namespace NewLlm.Data.Tests;

/// <summary>
/// UltraChat 200k's Parquet files (read with Parquet.Net) and <c>save_to_disk</c> Arrow folders through the dialogue
/// source, on files the tests write (made-up rows): the rows and their text, row groups, the split folders, and
/// the bad inputs (a wrong schema, a file that is not Parquet or Arrow, a truncated one, an empty one).
/// </summary>
public sealed class ColumnarSourceTests
{
    [Fact]
    public async Task UltraChat200kParquetRowsAcrossRowGroupsBecomeTheirContentsJoined()
    {
        using var temp = new TempDirectory();
        var train = Enumerable.Range(0, 25).Select(i => Chat(i, $"question {i}", $"answer  {i}\nmore")).ToList();
        train[3].messages = [];
        await WriteParquetAsync(temp.Combine("data", "train_sft-00000-of-00001-abc123.parquet"), train, rowGroupSize: 10);
        await WriteParquetAsync(temp.Combine("data", "test_sft-00000-of-00001-def456.parquet"), [Chat(99, "test question", "test answer"), Chat(98, "two", "too")]);

        var source = await DialogueSource.FromDirectoryAsync(DialogueDataset.UltraChat200k, temp.Path);
        Assert.Equal(3, (await ParquetReader.CreateAsync(source.TrainFiles[0])).RowGroupCount);
        Assert.Equal(25, await ParquetRowReader.CountRowsAsync(source.TrainFiles[0], default));

        // Locations name the row group and the row in it.
        var rows = await ParquetRowReader.ReadAsync(source.TrainFiles[0], ["messages"], RowLimit.Default, default).ToListAsync();
        Assert.Equal($"'{source.TrainFiles[0]}' row group 2, row 1", rows[21].Location.ToString());
        Assert.Equal("[{\"content\":\"question 21\",\"role\":\"user\"},{\"content\":\"answer  21\\nmore\",\"role\":\"assistant\"}]", rows[21].Fields["messages"]!.ToJsonString());

        using var corpus = await DialogueCorpus.LoadAsync(source, temp.Combine("cache"), new DialogueCorpusOptions { MaxSequenceLength = 16 });
        Assert.Equal((24, 2), (corpus.Train.Count, corpus.Test.Count)); // the row without messages is left out, as the original leaves out a dialogue without turns
        var words = (WordLevelTokenizer)corpus.Tokenizer;
        Assert.Equal(words.EncodeDialogue("question 0 answer 0 more", 16)[..7], corpus.Train.GetTokens(0).ToArray());
    }

    [Fact]
    public async Task AParquetFileWithoutTheColumnOrNotParquetIsOneClearError()
    {
        using var temp = new TempDirectory();
        string file = temp.Combine("data", "train_sft-0.parquet");
        Directory.CreateDirectory(temp.Combine("data"));
        await ParquetSerializer.SerializeAsync(new[] { new PromptOnly { prompt = "p" } }, file);
        var e = await Assert.ThrowsAsync<InvalidDataException>(() => ParquetRowReader.ReadAsync(file, ["messages"], RowLimit.Default, default).ToListAsync().AsTask());
        Assert.Equal($"'{file}' has no 'messages' column (columns: prompt).", e.Message);

        byte[] good = File.ReadAllBytes(file);
        File.WriteAllText(file, "not parquet at all");
        e = await Assert.ThrowsAsync<InvalidDataException>(() => ParquetRowReader.CountRowsAsync(file, default));
        Assert.StartsWith($"'{file}' is not a readable Parquet file", e.Message, StringComparison.Ordinal);
        File.WriteAllBytes(file, good[..(good.Length / 2)]);
        e = await Assert.ThrowsAsync<InvalidDataException>(() => ParquetRowReader.CountRowsAsync(file, default));
        Assert.StartsWith($"'{file}' is not a readable Parquet file", e.Message, StringComparison.Ordinal);
        File.WriteAllBytes(file, []);
        e = await Assert.ThrowsAsync<InvalidDataException>(() => ParquetRowReader.CountRowsAsync(file, default));
        Assert.Equal($"'{file}' is empty (0 bytes); it holds no rows.", e.Message);
    }

    [Fact]
    public async Task ADollySaveToDiskFolderIsReadBatchByBatchInStateOrder()
    {
        using var temp = new TempDirectory();
        string train = temp.Combine("train");
        await WriteDollyArrowAsync(Path.Combine(train, "data-00001-of-00002.arrow"), 10, 20);
        await WriteDollyArrowAsync(Path.Combine(train, "data-00000-of-00002.arrow"), 0, 10);
        File.WriteAllText(temp.Combine("dataset_dict.json"), "{\"splits\": [\"train\"]}");

        var source = await DialogueSource.FromDirectoryAsync(DialogueDataset.Dolly, temp.Path);
        Assert.Equal(["data-00000-of-00002.arrow", "data-00001-of-00002.arrow"], source.TrainFiles.Select(Path.GetFileName));
        var rows = await ArrowRowReader.ReadAsync(source.TrainFiles[1], ["instruction", "context", "response"], RowLimit.Default, default).ToListAsync();
        Assert.Equal($"'{source.TrainFiles[1]}' row 7", rows[7].Location.ToString());
        Assert.Equal(new DialogueText("Instruction: do 17 Context: ctx 17 Response: done 17", "do 17 ctx 17 done 17"), DollyFormat.Instance.Read(rows[7]));

        using var corpus = await DialogueCorpus.LoadAsync(source, temp.Combine("cache"));
        Assert.Equal((18, 2), (corpus.Train.Count, corpus.Test.Count));

        File.WriteAllText(source.TrainFiles[0], "not arrow");
        var e = await Assert.ThrowsAsync<InvalidDataException>(() => ArrowRowReader.CountRowsAsync(source.TrainFiles[0], default));
        Assert.StartsWith($"'{source.TrainFiles[0]}' is not a readable Arrow IPC stream", e.Message, StringComparison.Ordinal);
        var missing = await Assert.ThrowsAsync<FileNotFoundException>(() => DialogueSource.FromDirectoryAsync(DialogueDataset.UltraChat200k, temp.Path));
        Assert.Contains("it has no 'train_sft' split", missing.Message, StringComparison.Ordinal);
    }

    private static ChatRow Chat(int i, string question, string answer) => new()
    {
        prompt = question,
        prompt_id = $"id{i}",
        messages = [new Message { content = question, role = "user" }, new Message { content = answer, role = "assistant" }],
    };

    private static async Task WriteParquetAsync(string path, IReadOnlyList<ChatRow> rows, int rowGroupSize = 1000)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await ParquetSerializer.SerializeAsync(rows, path, new ParquetOptions { RowGroupSize = rowGroupSize });
    }

    private static async Task WriteDollyArrowAsync(string path, int from, int to)
    {
        string[] names = ["instruction", "context", "response", "category"];
        var builder = new Schema.Builder();
        foreach (string name in names)
        {
            builder.Field(f => f.Name(name).DataType(StringType.Default));
        }

        var schema = builder.Build();
        var columns = names.Select(_ => new StringArray.Builder()).ToArray();
        for (int i = from; i < to; i++)
        {
            columns[0].Append($"do {i}");
            columns[1].Append(i % 2 == 0 ? string.Empty : $"ctx {i}");
            columns[2].Append($"done {i}");
            columns[3].Append("open_qa");
        }

        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await using var stream = File.Create(path);
        using var writer = new ArrowStreamWriter(stream, schema);
        await writer.WriteRecordBatchAsync(new RecordBatch(schema, [.. columns.Select(c => (IArrowArray)c.Build())], to - from));
        await writer.WriteEndAsync();
    }

#pragma warning disable IDE1006, SA1300 // Parquet column names as the set has them
    public sealed class Message
    {
        public string? content { get; set; }

        public string? role { get; set; }
    }

    public sealed class ChatRow
    {
        public string? prompt { get; set; }

        public string? prompt_id { get; set; }

        public List<Message>? messages { get; set; }
    }

    public sealed class PromptOnly
    {
        public string? prompt { get; set; }
    }
#pragma warning restore IDE1006, SA1300
}
