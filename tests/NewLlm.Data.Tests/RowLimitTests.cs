using System.Text;
using Apache.Arrow;
using Apache.Arrow.Ipc;
using Apache.Arrow.Types;
using Microsoft.Extensions.Options;
using NewLlm.Data.Tests.Infrastructure;
using NewLlm.Tests;
using Parquet.Serialization;

namespace NewLlm.Data.Tests;

/// <summary>A huge row is refused before it is held whole or decoded, with the file, the row, its size and the option to raise.</summary>
public sealed class RowLimitTests
{
    private static string SmallRow(int i) => $"{{\"text\": \"row {i} says hello\"}}\n";

    /// <summary>Writes a JSON Lines file whose line <paramref name="hugeLine"/> is a <c>text</c> row of about <paramref name="hugeBytes"/> bytes.</summary>
    private static string WriteJsonLines(string path, int hugeLine, int hugeBytes, int lines = 6)
    {
        using var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write);
        for (int line = 1; line <= lines; line++)
        {
            if (line == hugeLine)
            {
                file.Write("{\"text\": \""u8);
                byte[] words = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("word ", 13_107))); // 64 KiB
                for (int written = 0; written < hugeBytes; written += words.Length)
                {
                    file.Write(words);
                }

                file.Write("\"}\n"u8);
            }
            else
            {
                file.Write(Encoding.UTF8.GetBytes(SmallRow(line)));
            }
        }

        return path;
    }

    [Fact]
    public async Task AHugeJsonLinesRowIsRefusedNamingTheFileLineLimitAndOption()
    {
        using var temp = new TempDirectory();
        string file = WriteJsonLines(temp.Combine("train.jsonl"), hugeLine: 3, hugeBytes: 20 << 20);
        var source = await DialogueSource.FromFilesAsync(DialogueDataset.JsonLines(new TextFieldFormat()), [file]);

        var e = await Assert.ThrowsAsync<InvalidDataException>(() =>
            DialogueCorpus.LoadAsync(source, temp.Combine("cache"), new DialogueCorpusOptions { MaxRowBytes = 64 << 10 }));

        Assert.StartsWith($"'{file}' line 3: the row is longer than 65536 bytes", e.Message, StringComparison.Ordinal);
        Assert.Contains("over the limit of 65536 bytes a row may have (DialogueCorpusOptions.MaxRowBytes)", e.Message, StringComparison.Ordinal);
        Assert.Contains("Raise DialogueCorpusOptions.MaxRowBytes", e.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(temp.Combine("cache")) && Directory.EnumerateFiles(temp.Combine("cache")).Any(), "nothing is cached");
    }

    [Fact]
    public async Task TheScanStopsJustPastTheLimitSoAHugeLineIsNeverHeldWhole()
    {
        using var stream = new EndlessLineStream(20 << 20);
        var scanner = new LineScanner(stream, "huge.jsonl", RowLimit.For(new DialogueCorpusOptions { MaxRowBytes = 4096 }));

        var e = await Assert.ThrowsAsync<InvalidDataException>(async () => await scanner.ReadLineAsync(CancellationToken.None));

        Assert.StartsWith("'huge.jsonl' line 1: the row is longer than 4096 bytes (the reader stopped at ", e.Message, StringComparison.Ordinal);
        Assert.True(stream.BytesRead <= 256 << 10, $"read {stream.BytesRead} bytes of a 20 MB line with a 4 KiB limit");
    }

    [Fact]
    public async Task TheDefaultLimitIsOneMebibyteAndRaisingTheOptionAdmitsALargerRow()
    {
        using var temp = new TempDirectory();
        string file = WriteJsonLines(temp.Combine("train.jsonl"), hugeLine: 2, hugeBytes: 3 << 19, lines: 12); // 1.5 MiB
        var source = await DialogueSource.FromFilesAsync(DialogueDataset.JsonLines(new TextFieldFormat()), [file]);
        Assert.Equal(1 << 20, new DialogueCorpusOptions().MaxRowBytes);

        var e = await Assert.ThrowsAsync<InvalidDataException>(() => DialogueCorpus.LoadAsync(source, temp.Combine("cache")));
        Assert.StartsWith($"'{file}' line 2: the row is ", e.Message, StringComparison.Ordinal); // its whole size, when it fits the scan's buffer
        Assert.Contains("over the limit of 1048576 bytes a row may have (DialogueCorpusOptions.MaxRowBytes)", e.Message, StringComparison.Ordinal);

        using var corpus = await DialogueCorpus.LoadAsync(source, temp.Combine("cache"), new DialogueCorpusOptions { MaxRowBytes = 2 << 20, MaxSequenceLength = 8 });
        Assert.Equal(12, corpus.Train.Count + corpus.Test.Count);
    }

    [Fact]
    public async Task AnHhRlhfFileWithAHugeRowSaysHowToReadRowsThatLarge()
    {
        using var temp = new TempDirectory();
        var rows = Fixtures.JsonLines([.. Fixtures.Dialogues, ("\n\nHuman: hi\n\nAssistant: " + new string('x', 2 << 20), "\n\nHuman: hi\n\nAssistant: no")]);
        string file = Fixtures.WriteSubset(temp.Path, "harmless-base", "test", rows);

        var e = await Assert.ThrowsAsync<InvalidDataException>(() => HhRlhfDataset.LoadFromDirectoryAsync(temp.Path, HhRlhfSubset.Harmless, HhRlhfSplit.Test));

        Assert.StartsWith($"'{file}' line 4: the row is ", e.Message, StringComparison.Ordinal);
        Assert.Contains("over the limit of 1048576 bytes", e.Message, StringComparison.Ordinal);
        Assert.Contains("through DialogueCorpus, with a larger DialogueCorpusOptions.MaxRowBytes", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnArrowRowWhoseStringsPassTheLimitIsRefusedBeforeTheyAreDecoded()
    {
        using var temp = new TempDirectory();
        string file = temp.Combine("data-00000-of-00001.arrow");
        var schema = new Schema.Builder().Field(f => f.Name("text").DataType(StringType.Default)).Build();
        var text = new StringArray.Builder().Append("small").Append(new string('y', 100_000)).Append("small").Build();
        await using (var stream = File.Create(file))
        {
            using var writer = new ArrowStreamWriter(stream, schema);
            await writer.WriteRecordBatchAsync(new RecordBatch(schema, [text], 3));
            await writer.WriteEndAsync();
        }

        var e = await Assert.ThrowsAsync<InvalidDataException>(() =>
            ArrowRowReader.ReadAsync(file, ["text"], RowLimit.For(new DialogueCorpusOptions { MaxRowBytes = 4096 }), default).ToListAsync().AsTask());

        Assert.StartsWith($"'{file}' row 1: the row is longer than 4096 bytes (the reader stopped at 100000)", e.Message, StringComparison.Ordinal);
        Assert.Contains("DialogueCorpusOptions.MaxRowBytes", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AParquetRowOverTheLimitIsRefusedNamingItsRowGroupAndRow()
    {
        using var temp = new TempDirectory();
        string file = temp.Combine("train.parquet");
        await ParquetSerializer.SerializeAsync(new[] { new TextRow { text = "small" }, new TextRow { text = "small" }, new TextRow { text = new string('z', 50_000) } }, file);

        var e = await Assert.ThrowsAsync<InvalidDataException>(() =>
            ParquetRowReader.ReadAsync(file, ["text"], RowLimit.For(new DialogueCorpusOptions { MaxRowBytes = 4096 }), default).ToListAsync().AsTask());

        Assert.StartsWith($"'{file}' row group 0, row 2: the row is longer than 4096 bytes", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(100)]
    [InlineData(1 << 30)]
    public void AMaxRowBytesOutOfRangeIsRejected(int value)
    {
        var e = Assert.Throws<OptionsValidationException>(() =>
            OptionsFailures.ThrowIfInvalid(new DialogueCorpusOptions { MaxRowBytes = value }, new DialogueCorpusOptionsValidator()));

        Assert.Contains($"DialogueCorpusOptions.MaxRowBytes must be between 1024 and 536870912 bytes, but is {value}.", e.Message, StringComparison.Ordinal);
    }

#pragma warning disable IDE1006 // the column name
    public sealed class TextRow
    {
        public string? text { get; set; }
    }
#pragma warning restore IDE1006

    /// <summary>One line of <c>a</c>s, generated as it is read, then a newline; counts what was read.</summary>
    private sealed class EndlessLineStream(long length) : Stream
    {
        public long BytesRead { get; private set; }

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => length + 1;

        public override long Position { get => BytesRead; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            int n = (int)Math.Min(count, length + 1 - BytesRead);
            buffer.AsSpan(offset, n).Fill((byte)'a');
            if (BytesRead + n == length + 1 && n > 0)
            {
                buffer[offset + n - 1] = (byte)'\n';
            }

            BytesRead += n;
            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
