@echo off
rem Lifeboat manual start: \lifeboat\start.cmd on the Lifeboat media. Use it when the assistant did not start
rem by itself: in Veeam Recovery open Tools, Command Prompt and type  D:\lifeboat\start.cmd  (D: being the
rem drive letter of the Lifeboat media). It runs the assistant that sits next to this file.
setlocal EnableExtensions
if not exist "%~dp0assistant.exe" goto missing
"%~dp0assistant.exe" --media %~d0\
set "LB_RC=%ERRORLEVEL%"
if not "%LB_RC%"=="0" echo Lifeboat: the restore assistant stopped with error code %LB_RC%.
endlocal & exit /b %LB_RC%

:missing
echo Lifeboat: %~dp0assistant.exe is missing. Is this the Lifeboat media? Follow the printed manual.
endlocal & exit /b 1
