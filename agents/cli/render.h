// How the command line shows the broker's answers: the JSON shapes of docs/CLI.md
// (stable: scripts rely on them) and aligned tables for people.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "hub.pb.h"

namespace dutyhub::cli {

nlohmann::json SendJson(const v1::SendReply& reply);
nlohmann::json InboxJson(const v1::InboxReply& reply);
nlohmann::json ShowJson(const v1::ShowReply& reply);
nlohmann::json AckJson(const v1::AckReply& reply);
nlohmann::json TransferJson(const v1::TransferReply& reply);
nlohmann::json StatusJson(const v1::StatusReply& reply);
nlohmann::json TimeJson(int64_t now_ms);
nlohmann::json OverdueJson(const v1::OverdueReply& reply);
nlohmann::json ReportJson(const v1::ReportReply& reply);
nlohmann::json EventJson(const v1::WatchEvent& event);
nlohmann::json StatsJson(const v1::StatsReply& reply);
nlohmann::json AuditVerifyJson(const v1::AuditVerifyReply& reply);
nlohmann::json AuditAccessJson(const v1::AuditAccessReply& reply);
nlohmann::json ErrorJson(const v1::Status& status);

std::string SendText(const v1::SendReply& reply);
std::string InboxText(const v1::InboxReply& reply);
std::string ShowText(const v1::ShowReply& reply);
std::string AckText(const v1::AckReply& reply);
std::string TransferText(const v1::TransferReply& reply);
std::string StatusText(const v1::StatusReply& reply);
std::string OverdueText(const v1::OverdueReply& reply);
std::string ReportText(const v1::ReportReply& reply);
std::string ReportCsv(const v1::ReportReply& reply);
std::string StatsText(const v1::StatsReply& reply);
std::string AuditVerifyText(const v1::AuditVerifyReply& reply);
std::string AuditAccessText(const v1::AuditAccessReply& reply);
// The sentence for standard error.
std::string ErrorText(const v1::Status& status);

// Columns padded to their widest cell, two spaces apart.
std::string Table(const std::vector<std::vector<std::string>>& rows);

}  // namespace dutyhub::cli
