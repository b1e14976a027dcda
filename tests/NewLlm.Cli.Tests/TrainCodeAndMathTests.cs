using NewLlm.Training;

namespace NewLlm.Cli.Tests;

/// <summary>
/// <c>newllm train</c> on levels 4 and 5, CodeAlpaca-20k (its JSON array named directly) and MATH (the original release's
/// tree, filtered by level and type), one cheap epoch each, as a person runs them: the word-level tokenizer's warning, the
/// filter kept by <c>--resume</c>, and the typos refused.
/// </summary>
[Trait("Category", "Slow")]
public sealed class TrainCodeAndMathTests
{
    [Fact]
    public async Task CodeAlpacaTrainsFromItsFileWithTheWordTokenizersWarning()
    {
        using var temp = new NewLlm.Tests.TempDirectory();
        string file = TinyDialogueFiles.CodeAlpaca(temp.Path, rows: 60);
        (int code, string text) = await ToolProcess.RunAsync(temp.Path, "train", "--dataset", "codealpaca", "--data-dir", file, "--max_samples", "40", "--epochs", "1", "--batch_size", "16", "--max_seq_length", "32", "--output", temp.Combine("out"));
        Assert.True(code == 0, text);
        Assert.Contains("warning: CodeAlpaca-20k keeps its newlines and indentation (code, LaTeX), which the word-level tokenizer drops", text, StringComparison.Ordinal);
        Assert.Contains("--tokenizer gpt2 keeps them.", text, StringComparison.Ordinal);
        Assert.Contains("Data: 40 training and 4 test dialogues of CodeAlpaca-20k from", text, StringComparison.Ordinal);
        CheckpointManifest manifest = CheckpointFile.ReadManifest(temp.Combine("out", "new_llm_codealpaca_layers1_final.pt"));
        Assert.Equal("codealpaca", (string?)manifest.TrainerOptions["dataset"]);
    }

    [Fact]
    public async Task JsonLinesGivenAsCodeAlpacaPointsAtTheJsonlSet()
    {
        using var temp = new NewLlm.Tests.TempDirectory();
        string file = temp.Combine("code_alpaca_20k.json");
        File.WriteAllText(file, "{\"instruction\": \"a\", \"input\": \"\", \"output\": \"b\"}\n{\"instruction\": \"c\", \"input\": \"\", \"output\": \"d\"}\n");
        (int code, string text) = await ToolProcess.RunAsync(temp.Path, "train", "--dataset", "codealpaca", "--data-dir", file, "--epochs", "1", "--output", temp.Combine("out"));
        Assert.Equal(1, code);
        Assert.Contains($"error: '{file}' starts with a JSON object, not a JSON array: this set's file is one JSON array of objects ([{{…}}, {{…}}]), as CodeAlpaca's code_alpaca_20k.json is. A file of one JSON object a line (JSON Lines) is read with --dataset jsonl.", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AFilteredMathTreeTrainsAndResumesWithItsFilterAndTyposAreRefused()
    {
        using var temp = new NewLlm.Tests.TempDirectory();
        TinyDialogueFiles.MathTree(temp.Path, perType: 30);
        string output = temp.Combine("out");
        (int code, string text) = await ToolProcess.RunAsync(temp.Path, "train", "--dataset", "math", "--data-dir", temp.Path, "--math-levels", "2,1", "--math-types", "Algebra", "--max_samples", "10", "--epochs", "1", "--batch_size", "16", "--max_seq_length", "32", "--output", output);
        Assert.True(code == 0, text);
        Assert.Contains("Data: 10 training and 1 test dialogues of MATH (levels 1,2; types algebra) from", text, StringComparison.Ordinal);
        string final = Path.Combine(output, "new_llm_math_layers1_final.pt");
        CheckpointManifest manifest = CheckpointFile.ReadManifest(final);
        Assert.Equal(("math", "1,2", "algebra"), ((string?)manifest.TrainerOptions["dataset"], (string?)manifest.TrainerOptions["math_levels"], (string?)manifest.TrainerOptions["math_types"]));

        // --resume keeps the filter (the data's SHA-256 would differ without it); another filter is refused.
        (code, text) = await ToolProcess.RunAsync(temp.Path, "train", "--resume", final, "--epochs", "2");
        Assert.True(code == 0, text);
        Assert.Equal(2, CheckpointFile.ReadManifest(final).State.CompletedEpochs);
        Assert.Equal("1,2", (string?)CheckpointFile.ReadManifest(final).TrainerOptions["math_levels"]);
        (code, text) = await ToolProcess.RunAsync(temp.Path, "train", "--resume", final, "--epochs", "3", "--math-levels", "1");
        Assert.Equal(1, code);
        Assert.StartsWith("error: --math-levels 1 differs from the checkpoint's 1,2", text.Trim(), StringComparison.Ordinal);

        (code, text) = await ToolProcess.RunAsync(temp.Path, "train", "--dataset", "math", "--data-dir", temp.Path, "--math-types", "algebr", "--output", temp.Combine("typo"));
        Assert.Equal(1, code);
        Assert.Equal("error: --math-types: 'algebr' is not a MATH type; the types are algebra, counting_and_probability, geometry, intermediate_algebra, number_theory, prealgebra, precalculus.", text.Trim());
        (code, text) = await ToolProcess.RunAsync(temp.Path, "train", "--dataset", "dolly", "--data-dir", temp.Path, "--math-levels", "1", "--output", temp.Combine("dolly"));
        Assert.Equal(1, code);
        Assert.Equal("error: --math-levels and --math-types filter --dataset math; Dolly-15k has no levels or types. Leave them out.", text.Trim());
    }
}
