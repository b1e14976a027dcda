using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Text;
using System.Text.Json;
using Apache.Arrow;
using Apache.Arrow.Ipc;
using Apache.Arrow.Types;
using NewLlm.Data;
using Parquet;
using Parquet.Serialization;

/// <summary>
/// The dialogue sources' figures: rows/s and words/s of preparing a <see cref="DialogueCorpus"/> from each source
/// (Dolly JSON Lines, UltraChat's ten JSON Lines files, chat-message JSON Lines, UltraChat 200k Parquet, a
/// <c>save_to_disk</c> Arrow folder) cold and from the cache, the cache's size; and the peak memory of preparing a
/// synthetic UltraChat of the real set's size in a child process, against what the rows would take as .NET strings.
/// All rows are generated here (Zipf-distributed pseudo-words), never taken from the real sets.
/// </summary>
/// <remarks>
/// Usage: <c>dialogue [--rows N] [--full-rows N] [--words W] [--skip-full] [--keep DIR]</c>: N rows per source (20,000;
/// Dolly always 15,011 as the real set), the full-size set of <c>--full-rows</c> dialogues (1,470,000) of about W words
/// (1,100, UltraChat's mean), generated into a temporary folder unless <c>--keep DIR</c> names one to reuse.
/// </remarks>
internal static class DialogueBenchmark
{
    private const int DollyRows = 15_011;
    private const int VocabularyWords = 60_000;

    public static async Task<int> RunAsync(string[] args)
    {
        if (args[0] == "dialogue-memory")
        {
            return await MeasureMemoryAsync(args[1], args[2]);
        }

        int rows = Value(args, "--rows", 20_000);
        int fullRows = Value(args, "--full-rows", 1_470_000);
        int words = Value(args, "--words", 1_100);
        string? keep = args.SkipWhile(a => a != "--keep").Skip(1).FirstOrDefault();
        string root = keep ?? Path.Combine(Path.GetTempPath(), "newllm-dialogue-bench-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(root);
        try
        {
            var text = new TextGenerator(seed: 1);
            await ThroughputAsync("dolly", DialogueDataset.Dolly, root, d => text.WriteDolly(Path.Combine(d, "databricks-dolly-15k.jsonl"), DollyRows));
            await ThroughputAsync("ultrachat", DialogueDataset.UltraChat, root, d => text.WriteUltraChat(d, rows, words));
            await ThroughputAsync("jsonl-messages", DialogueDataset.JsonLines(), root, d => text.WriteMessages(Path.Combine(d, "train.jsonl"), rows, words));
            await ThroughputAsync("ultrachat-200k-parquet", DialogueDataset.UltraChat200k, root, d => text.WriteUltraChat200kAsync(d, rows, words));
            await ThroughputAsync("dolly-save-to-disk", DialogueDataset.Dolly, root, d => text.WriteDollySaveToDiskAsync(d, DollyRows));
            if (!args.Contains("--skip-full"))
            {
                await FullSizeAsync(root, fullRows, words, text);
            }
        }
        finally
        {
            if (keep is null)
            {
                Directory.Delete(root, recursive: true);
            }
        }

        return 0;
    }

    // Prepares the corpus of one generated source twice: afresh (count, vocabulary, tokenize into the Arrow cache) and from the cache.
    private static async Task ThroughputAsync(string name, DialogueDataset dataset, string root, Func<string, Task<long>> generate)
    {
        string folder = Path.Combine(root, name);
        string cache = Path.Combine(root, name + "-cache");
        Directory.CreateDirectory(folder);
        long words = await generate(folder);
        DialogueSource source = dataset.Name == "jsonl"
            ? await DialogueSource.FromDirectoryAsync(dataset, Path.Combine(folder, "train.jsonl"))
            : await DialogueSource.FromDirectoryAsync(dataset, folder);
        if (Directory.Exists(cache))
        {
            Directory.Delete(cache, recursive: true);
        }

        var watch = Stopwatch.StartNew();
        int count;
        long tokens;
        using (DialogueCorpus corpus = await DialogueCorpus.LoadAsync(source, cache))
        {
            count = corpus.Train.Count + corpus.Test.Count;
            tokens = corpus.Train.TotalTokenCount + corpus.Test.TotalTokenCount;
        }

        double cold = watch.Elapsed.TotalSeconds;
        watch.Restart();
        using (DialogueCorpus cached = await DialogueCorpus.LoadAsync(source, cache))
        {
            _ = cached.Train.TotalTokenCount;
        }

        double warm = watch.Elapsed.TotalSeconds;
        Emit(new
        {
            figure = "dialogue_corpus",
            source = name,
            rows = count,
            words,
            input_bytes = FolderBytes(folder),
            tokens_kept = tokens,
            max_sequence_length = 128,
            threads = Environment.ProcessorCount,
            cold_seconds = Math.Round(cold, 3),
            rows_per_second = Math.Round(count / cold),
            words_per_second = Math.Round(words / cold),
            cached_seconds = Math.Round(warm, 4),
            cache_bytes = FolderBytes(cache),
        });
    }

    // The streaming pass at the real set's size, measured in a child process so that generating the files does not count.
    private static async Task FullSizeAsync(string root, int rows, int words, TextGenerator text)
    {
        string folder = Path.Combine(root, "ultrachat-full");
        string marker = Path.Combine(folder, $"complete-{rows}-{words}");
        long wordCount, chars;
        if (File.Exists(marker))
        {
            string[] saved = File.ReadAllLines(marker);
            (wordCount, chars) = (long.Parse(saved[0], CultureInfo.InvariantCulture), long.Parse(saved[1], CultureInfo.InvariantCulture));
        }
        else
        {
            Directory.CreateDirectory(folder);
            var watch = Stopwatch.StartNew();
            wordCount = await text.WriteUltraChat(folder, rows, words);
            chars = text.LastCharacters;
            await File.WriteAllLinesAsync(marker, [wordCount.ToString(CultureInfo.InvariantCulture), chars.ToString(CultureInfo.InvariantCulture)]);
            Console.Error.WriteLine($"generated {rows:N0} dialogues, {FolderBytes(folder) / 1e9:F2} GB, in {watch.Elapsed.TotalSeconds:F0} s");
        }

        string cache = Path.Combine(root, "ultrachat-full-cache");
        if (Directory.Exists(cache))
        {
            Directory.Delete(cache, recursive: true);
        }

        var start = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath!) == "dotnet")
        {
            start.ArgumentList.Add(Assembly.GetExecutingAssembly().Location);
        }

        foreach (string argument in new[] { "dialogue-memory", folder, cache })
        {
            start.ArgumentList.Add(argument);
        }

        using Process child = Process.Start(start)!;
        string measured = await child.StandardOutput.ReadToEndAsync();
        await child.WaitForExitAsync();
        if (child.ExitCode != 0)
        {
            throw new InvalidOperationException($"The memory measurement failed (exit code {child.ExitCode}): {measured}");
        }

        var figure = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(measured)!;
        Emit(new
        {
            figure = "ultrachat_full_size",
            rows = figure["rows"].GetInt64(),
            words = wordCount,
            input_bytes = FolderBytes(folder),
            seconds = figure["seconds"].GetDouble(),
            rows_per_second = Math.Round(figure["rows"].GetInt64() / figure["seconds"].GetDouble()),
            words_per_second = Math.Round(wordCount / figure["seconds"].GetDouble()),
            peak_rss_bytes = figure["peak_rss_bytes"].GetInt64(),
            peak_managed_heap_bytes = figure["peak_managed_heap_bytes"].GetInt64(),
            rows_as_dotnet_strings_bytes = 2 * chars, // what a list of all rows' texts would hold (UTF-16), before any tokens
            cache_bytes = FolderBytes(cache),
        });
    }

    // The child: prepares the corpus of the folder and reports its peak memory (VmHWM, the largest managed heap seen).
    private static async Task<int> MeasureMemoryAsync(string folder, string cache)
    {
        long peakHeap = 0;
        using var sampler = new Timer(_ => InterlockedMax(ref peakHeap, GC.GetGCMemoryInfo(GCKind.Any).HeapSizeBytes), null, 0, 100);
        var watch = Stopwatch.StartNew();
        DialogueSource source = await DialogueSource.FromDirectoryAsync(DialogueDataset.UltraChat, folder);
        long rows;
        using (DialogueCorpus corpus = await DialogueCorpus.LoadAsync(source, cache))
        {
            rows = corpus.Train.Count + corpus.Test.Count;
        }

        double seconds = watch.Elapsed.TotalSeconds;
        InterlockedMax(ref peakHeap, GC.GetGCMemoryInfo(GCKind.Any).HeapSizeBytes);
        string hwm = File.ReadLines("/proc/self/status").First(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        long peakRss = long.Parse(hwm["VmHWM:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
        Console.WriteLine(JsonSerializer.Serialize(new { rows, seconds = Math.Round(seconds, 1), peak_rss_bytes = peakRss, peak_managed_heap_bytes = Interlocked.Read(ref peakHeap) }));
        return 0;
    }

    private static void InterlockedMax(ref long target, long value)
    {
        long current;
        while (value > (current = Interlocked.Read(ref target)) && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }

    private static long FolderBytes(string folder) => Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);

    private static int Value(string[] args, string name, int fallback) =>
        args.SkipWhile(a => a != name).Skip(1).Select(a => int.Parse(a, NumberStyles.AllowThousands, CultureInfo.InvariantCulture)).FirstOrDefault(fallback);

    private static void Emit(object figure) => Console.WriteLine(JsonSerializer.Serialize(figure));

    /// <summary>Rows of pseudo-words (letters only, so no JSON escaping), Zipf-distributed as words of English are.</summary>
    private sealed class TextGenerator
    {
        private readonly string[] _words;
        private readonly int[] _pool; // word indices drawn once from the Zipf distribution; turns start at random points of it
        private readonly Random _random;
        private long _characters;

        public TextGenerator(int seed)
        {
            _random = new Random(seed);
            const string Letters = "etaoinshrdlcumwfgypbvkjxqz";
            _words = new string[VocabularyWords];
            for (int i = 0; i < _words.Length; i++)
            {
                var word = new StringBuilder();
                for (int n = i + 1; n > 0; n /= Letters.Length)
                {
                    word.Append(Letters[n % Letters.Length]);
                }

                _words[i] = word.ToString();
            }

            double[] cumulative = new double[_words.Length];
            double sum = 0;
            for (int i = 0; i < cumulative.Length; i++)
            {
                cumulative[i] = sum += 1.0 / (i + 1);
            }

            _pool = new int[1 << 22];
            for (int i = 0; i < _pool.Length; i++)
            {
                int index = System.Array.BinarySearch(cumulative, _random.NextDouble() * sum);
                _pool[i] = index < 0 ? ~index : index;
            }
        }

        /// <summary>The characters of the texts of the last set written (what the rows would be as .NET strings).</summary>
        public long LastCharacters { get; private set; }

        public Task<long> WriteDolly(string path, int rows)
        {
            long words = 0;
            using var writer = new StreamWriter(path, false, new UTF8Encoding(false), 1 << 20);
            for (int i = 0; i < rows; i++)
            {
                writer.Write("{\"instruction\": \"");
                words += Append(writer, 12);
                writer.Write("\", \"context\": \"");
                words += i % 3 == 0 ? Append(writer, 80) : 0;
                writer.Write("\", \"response\": \"");
                words += Append(writer, 60);
                writer.WriteLine("\", \"category\": \"open_qa\"}");
            }

            return Task.FromResult(words);
        }

        public Task<long> WriteUltraChat(string folder, int rows, int wordsPerDialogue)
        {
            long words = 0, startCharacters = _characters;
            for (int file = 0; file < 10; file++)
            {
                using var writer = new StreamWriter(Path.Combine(folder, $"train_{file}.jsonl"), false, new UTF8Encoding(false), 1 << 20);
                int first = (int)((long)rows * file / 10), end = (int)((long)rows * (file + 1) / 10);
                for (int i = first; i < end; i++)
                {
                    writer.Write($"{{\"id\": \"{i}\", \"data\": [");
                    int turns = 2 * _random.Next(1, 4); // 2, 4 or 6 turns
                    for (int t = 0; t < turns; t++)
                    {
                        writer.Write(t == 0 ? "\"" : ", \"");
                        words += Append(writer, Math.Max(1, wordsPerDialogue / turns));
                        writer.Write('"');
                    }

                    writer.WriteLine("]}");
                }
            }

            LastCharacters = _characters - startCharacters;
            return Task.FromResult(words);
        }

        public Task<long> WriteMessages(string path, int rows, int wordsPerDialogue)
        {
            long words = 0;
            using var writer = new StreamWriter(path, false, new UTF8Encoding(false), 1 << 20);
            for (int i = 0; i < rows; i++)
            {
                writer.Write("{\"messages\": [{\"role\": \"user\", \"content\": \"");
                words += Append(writer, wordsPerDialogue / 4);
                writer.Write("\"}, {\"role\": \"assistant\", \"content\": \"");
                words += Append(writer, wordsPerDialogue * 3 / 4);
                writer.WriteLine("\"}]}");
            }

            return Task.FromResult(words);
        }

        public async Task<long> WriteUltraChat200kAsync(string folder, int rows, int wordsPerDialogue)
        {
            long words = 0;
            Directory.CreateDirectory(Path.Combine(folder, "data"));
            foreach ((string split, int count) in new[] { ("train_sft", rows * 9 / 10), ("test_sft", rows / 10) })
            {
                var chats = new List<ChatRow>(count);
                for (int i = 0; i < count; i++)
                {
                    string question = Text(wordsPerDialogue / 4), answer = Text(wordsPerDialogue * 3 / 4);
                    words += (wordsPerDialogue / 4) + (wordsPerDialogue * 3 / 4);
                    chats.Add(new ChatRow { prompt = question, prompt_id = i.ToString(CultureInfo.InvariantCulture), messages = [new Message { content = question, role = "user" }, new Message { content = answer, role = "assistant" }] });
                }

                await ParquetSerializer.SerializeAsync(chats, Path.Combine(folder, "data", $"{split}-00000-of-00001.parquet"), new ParquetOptions { RowGroupSize = 2_000 });
            }

            return words;
        }

        public async Task<long> WriteDollySaveToDiskAsync(string folder, int rows)
        {
            string[] names = ["instruction", "context", "response", "category"];
            var builder = new Schema.Builder();
            foreach (string name in names)
            {
                builder.Field(f => f.Name(name).DataType(StringType.Default));
            }

            Schema schema = builder.Build();
            long words = 0;
            await using (FileStream stream = File.Create(Path.Combine(folder, "data-00000-of-00001.arrow")))
            using (var writer = new ArrowStreamWriter(stream, schema))
            {
                for (int first = 0; first < rows; first += 1_000)
                {
                    int count = Math.Min(1_000, rows - first);
                    var columns = names.Select(_ => new StringArray.Builder()).ToArray();
                    for (int i = first; i < first + count; i++)
                    {
                        columns[0].Append(Text(12));
                        columns[1].Append(i % 3 == 0 ? Text(80) : string.Empty);
                        columns[2].Append(Text(60));
                        columns[3].Append("open_qa");
                        words += 12 + (i % 3 == 0 ? 80 : 0) + 60;
                    }

                    await writer.WriteRecordBatchAsync(new RecordBatch(schema, [.. columns.Select(c => (IArrowArray)c.Build())], count));
                }

                await writer.WriteEndAsync();
            }

            await File.WriteAllTextAsync(Path.Combine(folder, "state.json"), "{\"_data_files\": [{\"filename\": \"data-00000-of-00001.arrow\"}], \"_split\": \"train\"}");
            await File.WriteAllTextAsync(Path.Combine(folder, "dataset_info.json"), "{}");
            return words;
        }

        private string Text(int words)
        {
            using var writer = new StringWriter();
            Append(writer, words);
            return writer.ToString();
        }

        private int Append(TextWriter writer, int words)
        {
            int start = _random.Next(_pool.Length - words);
            for (int i = 0; i < words; i++)
            {
                if (i > 0)
                {
                    writer.Write(' ');
                    _characters++;
                }

                string word = _words[_pool[start + i]];
                writer.Write(word);
                _characters += word.Length;
            }

            return words;
        }
    }

#pragma warning disable IDE1006, SA1300 // Parquet column names as the set has them
    private sealed class Message
    {
        public string? content { get; set; }

        public string? role { get; set; }
    }

    private sealed class ChatRow
    {
        public string? prompt { get; set; }

        public string? prompt_id { get; set; }

        public List<Message>? messages { get; set; }
    }
#pragma warning restore IDE1006, SA1300
}
