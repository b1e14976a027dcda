using System.Globalization;
using System.Text.RegularExpressions;
using NewLlm.Data;
using NewLlm.Training;

namespace NewLlm.Samples.Tests;

/// <summary><c>samples/Curriculum</c>: Dolly, then HH-RLHF from the Dolly model's weights and vocabulary, its context widened.</summary>
[Trait("Category", "Slow")]
public sealed class CurriculumTests
{
    [Fact]
    public async Task TheSecondStageStartsFromTheFirstStagesWeightsAndVocabularyWidenedWithoutChangingWhatTheModelComputes()
    {
        using var temp = new NewLlm.Tests.TempDirectory();
        string dolly = TinyDialogueFiles.Dolly(temp.Path, rows: 100);
        string hh = TinyHhRlhfFolder.Create(temp.Path, trainRows: 96, testRows: 16);
        string output = temp.Combine("curriculum");

        (int code, string text) = await SampleProcess.RunAsync("Curriculum", temp.Path, dolly, hh, output, "1", "512");

        Assert.True(code == 0, text);
        string first = Path.Combine(output, "dolly", "curriculum_dolly_final.pt");
        string second = Path.Combine(output, "hh_rlhf", "curriculum_hh_rlhf_final.pt");
        Assert.Contains($"Starting from {first} (context 512)", text, StringComparison.Ordinal);
        Assert.Equal(256, CheckpointFile.ReadManifest(first).ModelOptions.ContextDim);
        Assert.Equal(512, CheckpointFile.ReadManifest(second).ModelOptions.ContextDim);

        // The vocabulary is Dolly's, carried to HH-RLHF, and the second stage records where its weights came from.
        DialogueTokenizer dollyVocabulary = CheckpointFile.LoadTokenizer(first)!;
        Assert.Equal(dollyVocabulary.Fingerprint, CheckpointFile.LoadTokenizer(second)!.Fingerprint);
        Assert.Equal(Path.GetFullPath(first), CheckpointFile.ReadManifest(second).TrainerOptions["from_checkpoint"]!.GetValue<string>());

        // The weights: the widened model before training computes what the first stage's final model does, measured here on the same rows.
        using DialogueCorpus hhCorpus = await DialogueCorpus.LoadAsync(
            await DialogueSource.FromDirectoryAsync(DialogueDataset.HhRlhf(HhRlhfSubset.Harmless), hh), temp.Combine("cache"), new DialogueCorpusOptions { MaxSequenceLength = 128 }, dollyVocabulary);
        using NewLlmModel dollyModel = CheckpointFile.LoadModel(first);
        double expected = Evaluator.Evaluate(dollyModel, hhCorpus.Test, batchSize: 64).Perplexity;
        Match before = Regex.Match(text, @"HH-RLHF validation PPL before stage 2: (\d+\.\d\d)");
        Assert.True(before.Success, text);
        Assert.Equal(expected, double.Parse(before.Groups[1].Value, CultureInfo.InvariantCulture), 0.0051);

        // ...which is not where a fresh model of the same shape starts.
        using var fresh = new NewLlmModel(dollyModel.Options.Clone());
        Assert.True(Math.Abs(Evaluator.Evaluate(fresh, hhCorpus.Test, batchSize: 64).Perplexity - expected) > 0.01);
        Assert.Contains("Stage hh_rlhf: Completed", text, StringComparison.Ordinal);
    }
}
