using System.Globalization;
using NewLlm.Data;
using NewLlm.Training;

namespace NewLlm.Samples.Tests;

/// <summary><c>samples/Curriculum</c>: Dolly, then HH-RLHF from the Dolly model's weights and vocabulary.</summary>
public sealed class CurriculumTests
{
    [Fact]
    public async Task TheSecondStageStartsFromTheFirstStagesWeightsAndVocabulary()
    {
        using var temp = new NewLlm.Tests.TempDirectory();
        string dolly = TinyDialogueFiles.Dolly(temp.Path);
        string hh = TinyHhRlhfFolder.Create(temp.Path);
        string output = temp.Combine("curriculum");

        (int code, string text) = await SampleProcess.RunAsync("Curriculum", temp.Path, dolly, hh, output, "1");

        Assert.True(code == 0, text);
        string first = Path.Combine(output, "dolly", "curriculum_dolly_final.pt");
        string second = Path.Combine(output, "hh_rlhf", "curriculum_hh_rlhf_final.pt");
        Assert.Contains($"Starting from {first}", text, StringComparison.Ordinal);

        // The vocabulary is Dolly's, carried to HH-RLHF, and the second stage records where its weights came from.
        DialogueTokenizer dollyVocabulary = CheckpointFile.LoadTokenizer(first)!;
        Assert.Equal(dollyVocabulary.Fingerprint, CheckpointFile.LoadTokenizer(second)!.Fingerprint);
        Assert.Equal(Path.GetFullPath(first), CheckpointFile.ReadManifest(second).TrainerOptions["from_checkpoint"]!.GetValue<string>());

        // The weights: the second stage's model before training is the first stage's final model, measured here on the same rows.
        using DialogueCorpus hhCorpus = await DialogueCorpus.LoadAsync(
            await DialogueSource.FromDirectoryAsync(DialogueDataset.HhRlhf(HhRlhfSubset.Harmless), hh), temp.Combine("cache"), new DialogueCorpusOptions { MaxSequenceLength = 128 }, dollyVocabulary);
        using NewLlmModel dollyModel = CheckpointFile.LoadModel(first);
        double expected = Evaluator.Evaluate(dollyModel, hhCorpus.Test, batchSize: 64).Perplexity;
        Assert.Contains(string.Create(CultureInfo.InvariantCulture, $"HH-RLHF validation PPL before stage 2: {expected:F2}"), text, StringComparison.Ordinal);

        // ...and it is not where a fresh model of the same shape would start.
        using var fresh = new NewLlmModel(dollyModel.Options.Clone());
        Assert.NotEqual(expected.ToString("F2", CultureInfo.InvariantCulture), Evaluator.Evaluate(fresh, hhCorpus.Test, batchSize: 64).Perplexity.ToString("F2", CultureInfo.InvariantCulture));
        Assert.Contains("Stage hh_rlhf: Completed", text, StringComparison.Ordinal);
    }
}
